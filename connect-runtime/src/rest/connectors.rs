//! `/connectors/...`: connector configs, statuses, tasks, lifecycle (pause, resume, stop, restart), active topics
//! and offsets.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::RestError;
use super::forward::Original;
use super::{answer, config_patch, config_strings, parse_body, query_flag, AppState};
use crate::herder::api::{ConnectorOffsets, HerderError, HerderRequest, InitialState, SignedRequest};
use crate::worker::status::TaskId;

pub(super) async fn list(
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

pub(super) async fn create(
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

pub(super) async fn info(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(Json(state.ask(|r| HerderRequest::ConnectorInfo(name, r)).await?).into_response())
}

pub(super) async fn config(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(Json(state.ask(|r| HerderRequest::ConnectorInfo(name, r)).await?.config).into_response())
}

pub(super) async fn put_config(
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

pub(super) async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
) -> Result<Response, RestError> {
    let result = state.ask(|r| HerderRequest::DeleteConnector(name, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::NO_CONTENT.into_response()).await)
}

pub(super) async fn status(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(Json(state.ask(|r| HerderRequest::ConnectorStatus(name, r)).await?).into_response())
}

pub(super) async fn task_configs(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, RestError> {
    Ok(Json(state.ask(|r| HerderRequest::TaskConfigs(name, r)).await?).into_response())
}

/// Internal endpoint: a connector's owner sends the task configs it generated to the leader.
pub(super) async fn put_task_configs(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RestError> {
    let list: Vec<BTreeMap<String, serde_json::Value>> = parse_body(&body)?;
    let configs = list.into_iter().map(config_strings).collect::<Result<Vec<_>, _>>()?;
    let signed = SignedRequest { headers, body: body.clone() };
    let result = state.ask(|reply| HerderRequest::PutTaskConfigs { name, configs, signed, reply }).await;
    Ok(answer(&state, &original, body, result, |()| StatusCode::NO_CONTENT.into_response()).await)
}

fn task_id(name: String, task: &str) -> Result<TaskId, RestError> {
    let task = task.parse::<u32>().map_err(|_| RestError::not_found(format!("Task {name}-{task} not found")))?;
    Ok(TaskId { connector: name, task })
}

pub(super) async fn task_status(
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

pub(super) async fn restart_task(
    State(state): State<AppState>,
    Path((name, task)): Path<(String, String)>,
    original: Original,
) -> Result<Response, RestError> {
    let id = task_id(name, &task)?;
    let result = state.ask(|r| HerderRequest::RestartTask(id, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::NO_CONTENT.into_response()).await)
}

pub(super) async fn pause(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
) -> Result<Response, RestError> {
    let result = state.ask(|r| HerderRequest::Pause(name, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::ACCEPTED.into_response()).await)
}

pub(super) async fn resume(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
) -> Result<Response, RestError> {
    let result = state.ask(|r| HerderRequest::Resume(name, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::ACCEPTED.into_response()).await)
}

pub(super) async fn restart(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    original: Original,
) -> Result<Response, RestError> {
    let include_tasks = query_flag(raw.as_deref(), "includeTasks");
    let only_failed = query_flag(raw.as_deref(), "onlyFailed");
    let result = state.ask(|reply| HerderRequest::RestartConnector { name, include_tasks, only_failed, reply }).await;
    Ok(answer(&state, &original, Bytes::new(), result, |plan| match plan {
        Some(plan) => (StatusCode::ACCEPTED, Json(plan)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
    .await)
}

pub(super) async fn patch_config(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
    body: Bytes,
) -> Result<Response, RestError> {
    let map: BTreeMap<String, serde_json::Value> = parse_body(&body)?;
    let patch = config_patch(map)?;
    if let Some(Some(inner)) = patch.get("name") {
        if inner != &name {
            return Err(RestError::bad_request(format!(
                "Connector name configuration ({inner}) doesn't match connector name in the URL ({name})"
            )));
        }
    }
    let result = state.ask(|reply| HerderRequest::PatchConnectorConfig { name, patch, reply }).await;
    Ok(answer(&state, &original, body, result, |info| Json(info).into_response()).await)
}

pub(super) async fn stop(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
) -> Result<Response, RestError> {
    let result = state.ask(|r| HerderRequest::Stop(name, r)).await;
    Ok(answer(&state, &original, Bytes::new(), result, |()| StatusCode::NO_CONTENT.into_response()).await)
}

pub(super) async fn topics(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, RestError> {
    let topics = state.ask(|r| HerderRequest::ConnectorTopics(name.clone(), r)).await?;
    Ok(Json(json!({ name: { "topics": topics } })).into_response())
}

pub(super) async fn reset_topics(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, RestError> {
    state.ask(|r| HerderRequest::ResetConnectorTopics(name, r)).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub(super) async fn offsets(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(Json(state.ask(|r| HerderRequest::ConnectorOffsets(name, r)).await?).into_response())
}

pub(super) async fn alter_offsets(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
    body: Bytes,
) -> Result<Response, RestError> {
    #[derive(Deserialize)]
    struct Body {
        offsets: Option<Vec<serde_json::Value>>,
    }
    let request: Body = parse_body(&body)?;
    let Some(list) = request.offsets.filter(|l| !l.is_empty()) else {
        return Err(RestError::bad_request("The offsets to be altered must not be null or empty"));
    };
    let offsets: ConnectorOffsets = serde_json::from_value(json!({ "offsets": list })).map_err(|e| {
        RestError::bad_request(format!(
            "Each entry of 'offsets' must be {{\"partition\": {{..}}, \"offset\": {{..}} or null}}: {e}"
        ))
    })?;
    let result = state.ask(|reply| HerderRequest::ModifyOffsets { name, offsets: Some(offsets), reply }).await;
    Ok(answer(&state, &original, body, result, |message| Json(json!({ "message": message })).into_response()).await)
}

pub(super) async fn reset_offsets(
    State(state): State<AppState>,
    Path(name): Path<String>,
    original: Original,
) -> Result<Response, RestError> {
    let result = state.ask(|reply| HerderRequest::ModifyOffsets { name, offsets: None, reply }).await;
    Ok(answer(&state, &original, Bytes::new(), result, |message| Json(json!({ "message": message })).into_response())
        .await)
}
