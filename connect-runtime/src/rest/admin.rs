//! The worker itself: `GET /` (version and cluster), `GET /health`, the OpenAPI document, and
//! `/admin/loggers` (log levels changed at run time, on this worker or, with `?scope=cluster`, on all of them).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::error::RestError;
use super::{parse_body, query_value, AppState, HEALTH_TIMEOUT};
use crate::herder::api::{HerderError, HerderRequest};
use crate::logging::{self, LevelError};

/// The OpenAPI document of every route ([`super::ROUTES`]).
pub(super) const OPENAPI: &str = include_str!("openapi.json");

pub(super) async fn root(State(state): State<AppState>) -> Result<Response, RestError> {
    let cluster = state.ask(HerderRequest::ClusterId).await?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("CONNECT_RS_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": cluster,
    }))
    .into_response())
}

/// `GET /health` (KIP-1017): 200 once the worker has joined its group and read its configs, 503 while it is
/// starting, 500 when the herder does not answer within 10 s.
pub(super) async fn health(State(state): State<AppState>) -> Response {
    if !state.ctx.herder.is_ready() {
        let message = "Worker is still starting up.";
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "starting", "message": message })))
            .into_response();
    }
    let (status, state_name, message) = match state.ask_within(HEALTH_TIMEOUT, HerderRequest::Health).await {
        Ok(()) => {
            (StatusCode::OK, "healthy", "Worker has completed startup and is ready to handle requests.".to_string())
        }
        Err(HerderError::Unavailable(message)) => (StatusCode::SERVICE_UNAVAILABLE, "starting", message),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "unhealthy",
            format!("Worker was unable to handle this request and may be unable to handle other requests: {err}"),
        ),
    };
    (status, Json(json!({ "status": state_name, "message": message }))).into_response()
}

pub(super) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /metrics`: Prometheus text, named as Strimzi's JMX exporter rules name Kafka Connect's metrics.
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = state.ctx.metrics.clone();
    // Rendering reads the status board and every task's counters: cheap, but not the runtime's business.
    match tokio::task::spawn_blocking(move || metrics.encode()).await {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => RestError::internal(format!("cannot render the metrics: {e}")).into_response(),
    }
}

pub(super) async fn loggers() -> Response {
    Json(logging::loggers()).into_response()
}

fn level_error(err: LevelError) -> RestError {
    match err {
        // Kafka Connect answers an unknown logger and an invalid level with 404.
        LevelError::InvalidLevel(_) | LevelError::InvalidLogger(_) => RestError::not_found(err.to_string()),
        LevelError::NotInitialized => RestError::internal(err.to_string()),
    }
}

pub(super) async fn logger(Path(name): Path<String>) -> Result<Response, RestError> {
    Ok(Json(logging::logger(&name).map_err(level_error)?).into_response())
}

/// `PUT /admin/loggers/{name}[?scope=worker|cluster]` with `{"level": ..}`.
pub(super) async fn set_logger(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, RestError> {
    let request: BTreeMap<String, serde_json::Value> = parse_body(&body)?;
    let Some(level) = request.get("level").and_then(|l| l.as_str()).map(str::to_string) else {
        return Err(RestError::bad_request("The request body must specify a log level"));
    };
    // Unknown scopes fall back to the worker, as in Kafka Connect.
    let cluster = query_value(raw.as_deref(), "scope").is_some_and(|s| s.eq_ignore_ascii_case("cluster"));
    if cluster {
        logging::logger(&name).map_err(level_error)?;
        logging::check_level(&level).map_err(level_error)?;
        state.ask(|reply| HerderRequest::SetClusterLogLevel { namespace: name, level, reply }).await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(logging::set_level(&name, &level).map_err(level_error)?).into_response())
}
