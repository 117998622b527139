//! The REST API, compatible with Kafka Connect's: small axum handlers that ask the herder (through its request
//! queue) and render its answer; writes a follower cannot serve are forwarded to the leader by one layer
//! ([`forward`]). Handlers never panic: bad bodies are 400, herder failures carry their Kafka Connect status.

pub mod auth;
pub mod client;
pub mod error;
pub mod forward;
pub mod server;
pub mod signature;
pub mod tls;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::herder::api::{HerderError, HerderHandle, HerderRequest, HerderResult, InitialState};
use crate::worker::status::TaskId;
use error::RestError;
use forward::{Forwarder, Original};

/// Kafka Connect's REST request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Clone)]
struct AppState {
    herder: HerderHandle,
    forwarder: Forwarder,
    timeout: Duration,
}

impl AppState {
    async fn ask<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<HerderResult<T>>) -> HerderRequest,
    ) -> HerderResult<T> {
        match tokio::time::timeout(self.timeout, self.herder.ask(make)).await {
            Ok(result) => result,
            Err(_) => Err(HerderError::Internal("Request timed out".to_string())),
        }
    }
}

/// The router of the REST API, serving `herder` and forwarding with `forwarder`. Authentication and TLS wrap it
/// from outside ([`auth::protect`], [`server::serve`]).
pub fn router(herder: HerderHandle, forwarder: Forwarder) -> Router {
    router_with_timeout(herder, forwarder, REQUEST_TIMEOUT)
}

/// The router with a custom request timeout (tests).
pub fn router_with_timeout(herder: HerderHandle, forwarder: Forwarder, timeout: Duration) -> Router {
    let state = AppState { herder, forwarder, timeout };
    Router::new()
        .route("/", get(root))
        .route("/connectors", get(list_connectors).post(create_connector))
        .route("/connectors/{name}", get(connector_info).delete(delete_connector))
        .route("/connectors/{name}/config", get(connector_config).put(put_connector_config))
        .route("/connectors/{name}/status", get(connector_status))
        .route("/connectors/{name}/tasks", get(task_configs).post(put_task_configs))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route("/connectors/{name}/tasks/{task}/restart", post(restart_task))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/restart", post(restart_connector))
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

async fn root(State(state): State<AppState>) -> Result<Response, RestError> {
    let cluster = state.ask(HerderRequest::ClusterId).await?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("CONNECT_RS_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": cluster,
    }))
    .into_response())
}

async fn list_connectors(
    State(state): State<AppState>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, RestError> {
    let names = state.ask(HerderRequest::Connectors).await?;
    // `expand` may repeat (?expand=status&expand=info); unknown values are ignored, as in Kafka Connect.
    let expand: Vec<String> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v.into_owned())
        .collect();
    let (status, info) = (expand.iter().any(|e| e == "status"), expand.iter().any(|e| e == "info"));
    if !status && !info {
        return Ok(Json(names).into_response());
    }
    let mut out = serde_json::Map::new();
    for name in names {
        let mut entry = serde_json::Map::new();
        if status {
            match state.ask(|r| HerderRequest::ConnectorStatus(name.clone(), r)).await {
                Ok(s) => {
                    entry.insert("status".into(), serde_json::to_value(s).unwrap_or_default());
                }
                Err(HerderError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if info {
            match state.ask(|r| HerderRequest::ConnectorInfo(name.clone(), r)).await {
                Ok(i) => {
                    entry.insert("info".into(), serde_json::to_value(i).unwrap_or_default());
                }
                Err(HerderError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        out.insert(name, serde_json::Value::Object(entry));
    }
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
struct CreateConnectorRequest {
    name: Option<String>,
    config: Option<BTreeMap<String, serde_json::Value>>,
    initial_state: Option<String>,
}

/// A JSON config map to strings; non-string scalars are accepted as their text, as Jackson does for
/// `Map<String, String>`.
fn config_strings(map: BTreeMap<String, serde_json::Value>) -> Result<BTreeMap<String, String>, RestError> {
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => {
                return Err(RestError::bad_request(format!("Invalid value for configuration {key}: must be a string")))
            }
        };
        out.insert(key, text);
    }
    Ok(out)
}

async fn create_connector(
    State(state): State<AppState>,
    original: Original,
    body: Bytes,
) -> Result<Response, RestError> {
    let request: CreateConnectorRequest = parse_body(&body)?;
    let name = request.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let Some(name) = name else {
        return Err(RestError::bad_request("Connector name configuration (name) is required"));
    };
    let mut config = config_strings(request.config.unwrap_or_default())?;
    if let Some(inner) = config.get("name") {
        if inner != &name {
            return Err(RestError::bad_request(format!(
                "Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"
            )));
        }
    }
    config.insert("name".into(), name.clone());
    let initial_state = match request.initial_state.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None => None,
        Some("RUNNING") => Some(InitialState::Running),
        Some("PAUSED") => Some(InitialState::Paused),
        Some("STOPPED") => Some(InitialState::Stopped),
        Some(other) => {
            return Err(RestError::bad_request(format!(
                "Invalid initial state {other}; must be one of RUNNING, PAUSED, STOPPED"
            )))
        }
    };
    let result = state
        .ask(|reply| HerderRequest::PutConnectorConfig {
            name: name.clone(),
            config,
            allow_replace: false,
            initial_state,
            reply,
        })
        .await;
    Ok(answer(&state, &original, body, result, |created| {
        let location = format!("/connectors/{}", created.info.name);
        (StatusCode::CREATED, [(header::LOCATION, location)], Json(created.info)).into_response()
    })
    .await)
}

async fn connector_info(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(Json(state.ask(|r| HerderRequest::ConnectorInfo(name, r)).await?).into_response())
}

async fn connector_config(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(Json(state.ask(|r| HerderRequest::ConnectorInfo(name, r)).await?.config).into_response())
}

async fn put_connector_config(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
    body: Bytes,
) -> Result<Response, RestError> {
    let map: BTreeMap<String, serde_json::Value> = parse_body(&body)?;
    let mut config = config_strings(map)?;
    if let Some(inner) = config.get("name") {
        if inner != &name {
            return Err(RestError::bad_request(format!(
                "Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"
            )));
        }
    }
    config.insert("name".into(), name.clone());
    let result = state
        .ask(|reply| HerderRequest::PutConnectorConfig {
            name,
            config,
            allow_replace: true,
            initial_state: None,
            reply,
        })
        .await;
    Ok(answer(&state, &original, body, result, |created| {
        if created.created {
            let location = format!("/connectors/{}", created.info.name);
            (StatusCode::CREATED, [(header::LOCATION, location)], Json(created.info)).into_response()
        } else {
            Json(created.info).into_response()
        }
    })
    .await)
}

async fn delete_connector(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
) -> Result<Response, RestError> {
    let result = state.ask(|r| HerderRequest::DeleteConnector(name, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::NO_CONTENT.into_response()).await)
}

async fn connector_status(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(Json(state.ask(|r| HerderRequest::ConnectorStatus(name, r)).await?).into_response())
}

async fn task_configs(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(Json(state.ask(|r| HerderRequest::TaskConfigs(name, r)).await?).into_response())
}

/// Internal endpoint: a connector's owner sends the task configs it generated to the leader.
async fn put_task_configs(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
    body: Bytes,
) -> Result<Response, RestError> {
    let list: Vec<BTreeMap<String, serde_json::Value>> = parse_body(&body)?;
    let configs = list.into_iter().map(config_strings).collect::<Result<Vec<_>, _>>()?;
    let result = state.ask(|reply| HerderRequest::PutTaskConfigs { name, configs, reply }).await;
    Ok(answer(&state, &original, body, result, |()| StatusCode::NO_CONTENT.into_response()).await)
}

fn task_id(name: String, task: &str) -> Result<TaskId, RestError> {
    let task = task.parse::<u32>().map_err(|_| RestError::not_found(format!("Task {name}-{task} not found")))?;
    Ok(TaskId { connector: name, task })
}

async fn task_status(
    State(state): State<AppState>,
    Path((name, task)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let id = task_id(name.clone(), &task)?;
    let status = state.ask(|r| HerderRequest::ConnectorStatus(name, r)).await?;
    let found = status.tasks.into_iter().find(|t| t.id == id.task);
    match found {
        Some(task) => Ok(Json(task).into_response()),
        None => Err(RestError::not_found(format!("No status found for task {id}"))),
    }
}

async fn restart_task(
    State(state): State<AppState>,
    Path((name, task)): Path<(String, String)>,
    original: Original,
) -> Result<Response, RestError> {
    let id = task_id(name, &task)?;
    let result = state.ask(|r| HerderRequest::RestartTask(id, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::NO_CONTENT.into_response()).await)
}

async fn pause(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
) -> Result<Response, RestError> {
    let result = state.ask(|r| HerderRequest::Pause(name, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::ACCEPTED.into_response()).await)
}

async fn resume(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
) -> Result<Response, RestError> {
    let result = state.ask(|r| HerderRequest::Resume(name, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::ACCEPTED.into_response()).await)
}

async fn restart_connector(
    State(state): State<AppState>,
    Path(name): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    original: Original,
) -> Result<Response, RestError> {
    let flag = |name: &str| {
        form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
            .any(|(k, v)| k == name && v.eq_ignore_ascii_case("true"))
    };
    if flag("includeTasks") || flag("onlyFailed") {
        return Err(RestError::bad_request(
            "restart with includeTasks or onlyFailed is not supported by this version of connect-rs yet",
        ));
    }
    let result = state.ask(|r| HerderRequest::RestartConnector(name, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::NO_CONTENT.into_response()).await)
}
