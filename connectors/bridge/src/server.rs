//! The HTTP server: Strimzi's routes on `http.host:http.port` (and `/healthy`, `/ready` on
//! `http.management.port` when set), CORS as Vert.x's `CorsHandler` does it, on a tokio runtime the task owns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use connect_api::ConnectError;
use serde_json::{json, Value as Json};
use tokio::sync::Notify;

use crate::config::{BridgeConfig, Cors};
use crate::consumers::{self, Registry, SeekTo};
use crate::error::ApiError;
use crate::format::{self, media_type, wrong_type, Format, KAFKA_JSON};
use crate::produce::IntakeSender;
use crate::topics::Topics;

/// The OpenAPI document served at `/openapi`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The largest request body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Request headers a CORS pre-flight may ask for, as Strimzi allows them.
const CORS_HEADERS: &str = "x-requested-with,x-forwarded-proto,x-forwarded-host,access-control-allow-origin,\
access-control-allow-methods,origin,content-type,content-length,accept";

/// Everything the handlers share.
pub struct App {
    config: Arc<BridgeConfig>,
    intake: IntakeSender,
    consumers: Arc<Registry>,
    topics: Arc<Topics>,
    ready: AtomicBool,
}

type Shared = State<Arc<App>>;
type Answer = Result<Response, ApiError>;

/// The server of a running task.
pub struct RunningServer {
    runtime: tokio::runtime::Runtime,
    app: Arc<App>,
    shutdown: Arc<Notify>,
}

impl RunningServer {
    /// Binds the listeners (an address in use fails the task with a message naming the key) and serves.
    pub fn start(config: Arc<BridgeConfig>, intake: IntakeSender) -> Result<RunningServer, ConnectError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(64)
            .thread_name("bridge-http")
            .enable_all()
            .build()
            .map_err(|e| ConnectError::new(format!("cannot start the Bridge's HTTP runtime: {e}")))?;
        let topics = Topics::new(&config.admin)
            .map_err(|e| ConnectError::config("kafka.admin", format!("cannot create the admin client: {e}")))?;
        let app = Arc::new(App {
            consumers: Arc::new(Registry::new(config.consumer.clone(), config.bridge_id.clone())),
            topics: Arc::new(topics),
            intake,
            ready: AtomicBool::new(false),
            config: config.clone(),
        });
        let bind = |key: &str, port: u16| {
            runtime
                .block_on(tokio::net::TcpListener::bind((config.host.as_str(), port)))
                .map_err(|e| ConnectError::config(key, format!("cannot listen on {}:{port}: {e}", config.host)))
        };
        let api = bind("http.port", config.port)?;
        let management = config.management_port.map(|port| bind("http.management.port", port)).transpose()?;
        let shutdown = Arc::new(Notify::new());
        let serve = |listener: tokio::net::TcpListener, router: Router| {
            let shutdown = shutdown.clone();
            let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
            tracing::info!("the HTTP Bridge listens on http://{local}");
            runtime.spawn(async move {
                let stop = async move { shutdown.notified().await };
                if let Err(err) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
                    tracing::error!("the Bridge's listener on {local} failed: {err}");
                }
            });
        };
        serve(api, router(app.clone()));
        if let Some(listener) = management {
            serve(listener, management_router(app.clone()));
        }
        if let Some(timeout) = config.consumer_timeout {
            let consumers = app.consumers.clone();
            runtime.spawn(async move {
                let mut ticks = tokio::time::interval((timeout / 2).max(Duration::from_millis(100)));
                loop {
                    ticks.tick().await;
                    let consumers = consumers.clone();
                    let _ = tokio::task::spawn_blocking(move || consumers.expire(timeout)).await;
                }
            });
        }
        app.ready.store(true, Ordering::Release);
        Ok(RunningServer { runtime, app, shutdown })
    }

    /// Stops serving, closes every consumer (leaving their groups) and the runtime.
    pub fn stop(self) {
        self.app.ready.store(false, Ordering::Release);
        self.shutdown.notify_waiters();
        self.app.consumers.close_all();
        self.runtime.shutdown_timeout(Duration::from_secs(2));
    }
}

/// The API's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(info))
        .route("/healthy", get(health))
        .route("/ready", get(ready))
        .route("/openapi", get(openapi))
        .route("/openapi/v3", get(openapi))
        .route("/openapi/v2", get(openapi_v2))
        .route("/topics", get(list_topics))
        .route("/topics/{topic}", get(get_topic).post(send))
        .route("/topics/{topic}/partitions", get(list_partitions))
        .route("/topics/{topic}/partitions/{partition}", get(get_partition).post(send_to_partition))
        .route("/topics/{topic}/partitions/{partition}/offsets", get(get_offsets))
        .route("/admin/topics", post(create_topic))
        .route("/consumers/{group}", post(create_consumer))
        .route("/consumers/{group}/instances/{name}", axum::routing::delete(delete_consumer))
        .route(
            "/consumers/{group}/instances/{name}/subscription",
            post(subscribe).get(subscriptions).delete(unsubscribe),
        )
        .route("/consumers/{group}/instances/{name}/assignments", post(assign))
        .route("/consumers/{group}/instances/{name}/records", get(poll))
        .route("/consumers/{group}/instances/{name}/offsets", post(commit))
        .route("/consumers/{group}/instances/{name}/positions", post(seek))
        .route("/consumers/{group}/instances/{name}/positions/beginning", post(seek_to_beginning))
        .route("/consumers/{group}/instances/{name}/positions/end", post(seek_to_end))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), cors))
        .with_state(app)
}

fn management_router(app: Arc<App>) -> Router {
    Router::new().route("/healthy", get(health)).route("/ready", get(ready)).fallback(not_found).with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::new(404, "Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(405, "Method Not Allowed")
}

fn json_response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn kafka_json(body: &Json) -> Response {
    json_response(StatusCode::OK, KAFKA_JSON, serde_json::to_vec(body).unwrap_or_default())
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Runs blocking client work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)?
}

// ---- info, health, openapi ----

async fn info() -> Response {
    let body = json!({"bridge_version": env!("CARGO_PKG_VERSION")});
    json_response(StatusCode::OK, "application/json", body.to_string().into_bytes())
}

async fn health(State(app): Shared) -> StatusCode {
    if app.ready.load(Ordering::Acquire) {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// Ready: serving, and the runtime polls the task (a paused connector is alive but takes no records).
async fn ready(State(app): Shared) -> StatusCode {
    if app.ready.load(Ordering::Acquire) && app.intake.polled() {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

async fn openapi(headers: HeaderMap) -> Response {
    let prefix = ["x-forwarded-path", "x-forwarded-prefix"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()).map(String::from));
    let body = match prefix {
        None => OPENAPI.as_bytes().to_vec(),
        Some(prefix) => {
            let mut doc: Json = serde_json::from_str(OPENAPI).unwrap_or_default();
            doc["basePath"] = Json::String(prefix);
            serde_json::to_vec(&doc).unwrap_or_default()
        }
    };
    json_response(StatusCode::OK, "application/json", body)
}

async fn openapi_v2() -> ApiError {
    ApiError::new(410, "OpenAPI v2 Swagger not supported")
}

// ---- producer ----

fn async_flag(query: &HashMap<String, String>) -> Result<bool, ApiError> {
    match query.get("async").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::schema(vec![wrong_type(&Json::String(other.into()), "boolean")])),
    }
}

fn partition_param(raw: &str) -> Result<i32, ApiError> {
    raw.parse::<i32>().map_err(|_| ApiError::schema(vec![wrong_type(&Json::String(raw.into()), "integer")]))
}

async fn produce(
    app: &App,
    topic: String,
    partition: Option<i32>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Answer {
    if !app.config.producer_enabled {
        return Err(ApiError::new(
            503,
            "Producer is disabled in config. To enable producer update http.producer.enabled to true",
        ));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let format = Format::from_content_type(content_type)
        .ok_or_else(|| ApiError::validation("The format of the request body is not supported"))?;
    let fire_and_forget = async_flag(query)?;
    let records = format::parse_records(&body, format, &topic, partition)?;
    let offsets = app.intake.produce(records, !fire_and_forget).await?;
    if fire_and_forget {
        return Ok(no_content());
    }
    Ok(kafka_json(&json!({ "offsets": offsets })))
}

async fn send(
    State(app): Shared,
    Path(topic): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    produce(&app, topic, None, &query, &headers, body).await
}

async fn send_to_partition(
    State(app): Shared,
    Path((topic, partition)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let partition = partition_param(&partition)?;
    produce(&app, topic, Some(partition), &query, &headers, body).await
}

// ---- topics ----

async fn list_topics(State(app): Shared) -> Answer {
    let topics = app.topics.clone();
    Ok(kafka_json(&blocking(move || topics.list()).await?))
}

async fn get_topic(State(app): Shared, Path(topic): Path<String>) -> Answer {
    let topics = app.topics.clone();
    let body = tokio::spawn(async move { topics.describe(&topic).await }).await.map_err(ApiError::internal)??;
    Ok(kafka_json(&body))
}

async fn list_partitions(State(app): Shared, Path(topic): Path<String>) -> Answer {
    let topics = app.topics.clone();
    Ok(kafka_json(&blocking(move || topics.partitions(&topic)).await?))
}

async fn get_partition(State(app): Shared, Path((topic, partition)): Path<(String, String)>) -> Answer {
    let partition = partition_param(&partition)?;
    let topics = app.topics.clone();
    Ok(kafka_json(&blocking(move || topics.partition(&topic, partition)).await?))
}

async fn get_offsets(State(app): Shared, Path((topic, partition)): Path<(String, String)>) -> Answer {
    let partition = partition_param(&partition)?;
    let topics = app.topics.clone();
    Ok(kafka_json(&blocking(move || topics.offsets(&topic, partition)).await?))
}

async fn create_topic(State(app): Shared, headers: HeaderMap, body: Bytes) -> Answer {
    let body = json_body(&headers, &body)?
        .ok_or_else(|| ApiError::schema(vec!["Instance does not have required property \"topic_name\"".into()]))?;
    app.topics.create(&body).await?;
    Ok(StatusCode::CREATED.into_response())
}

// ---- consumers ----

/// The JSON body of a consumer request (`None` when empty), which must be `application/vnd.kafka.v2+json`.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Option<Json>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(media_type);
    if content_type.as_deref() != Some(KAFKA_JSON) {
        return Err(ApiError::validation("The format of the request body is not supported"));
    }
    format::parse_body(body).map(Some)
}

fn consumers_enabled(app: &App) -> Result<(), ApiError> {
    if app.config.consumer_enabled {
        Ok(())
    } else {
        Err(ApiError::new(
            503,
            "Consumer is disabled in config. To enable consumer update http.consumer.enabled to true",
        ))
    }
}

/// The `base_uri` of a new consumer: from the request, or from `Forwarded` / `X-Forwarded-*` behind a proxy.
fn base_uri(headers: &HeaderMap, path: &str, name: &str) -> Result<String, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let mut scheme = "http".to_string();
    let mut host = header("host").unwrap_or("localhost").to_string();
    let forwarded = header("forwarded").and_then(|value| {
        let first = value.split(',').next().unwrap_or_default();
        let pairs: HashMap<String, String> = first
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string()))
            .collect();
        Some((pairs.get("host")?.clone(), pairs.get("proto")?.clone()))
    });
    let proxied =
        forwarded.or_else(|| Some((header("x-forwarded-host")?.to_string(), header("x-forwarded-proto")?.to_string())));
    if let Some((forwarded_host, proto)) = proxied {
        let default_port = match proto.as_str() {
            "http" => 80,
            "https" => 443,
            other => return Err(ApiError::internal(format!("{other} is not a valid schema/proto."))),
        };
        host = if forwarded_host.contains(':') { forwarded_host } else { format!("{forwarded_host}:{default_port}") };
        scheme = proto;
    }
    let mut path = header("x-forwarded-path").unwrap_or(path).to_string();
    if !path.ends_with('/') {
        path.push('/');
    }
    Ok(format!("{scheme}://{host}{path}instances/{name}"))
}

async fn create_consumer(State(app): Shared, Path(group): Path<String>, request: Request) -> Answer {
    consumers_enabled(&app)?;
    let path = request.uri().path().to_string();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY).await.map_err(ApiError::validation)?;
    let body = json_body(&headers, &body)?;
    let registry = app.consumers.clone();
    let group_name = group.clone();
    let name = blocking(move || registry.create(&group_name, body.as_ref())).await?;
    let uri = match base_uri(&headers, &path, &name) {
        Ok(uri) => uri,
        Err(err) => {
            let _ = app.consumers.delete(&group, &name);
            return Err(err);
        }
    };
    Ok(kafka_json(&json!({"instance_id": name, "base_uri": uri})))
}

async fn delete_consumer(State(app): Shared, Path((group, name)): Path<(String, String)>) -> Answer {
    consumers_enabled(&app)?;
    let registry = app.consumers.clone();
    blocking(move || registry.delete(&group, &name)).await?;
    Ok(no_content())
}

/// Runs a consumer operation on the instance of the path.
async fn with_instance<T: Send + 'static>(
    app: &App,
    group: String,
    name: String,
    operation: impl FnOnce(&consumers::Instance) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    consumers_enabled(app)?;
    let instance = app.consumers.get(&group, &name)?;
    blocking(move || operation(&instance)).await
}

async fn subscribe(
    State(app): Shared,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let body = json_body(&headers, &body)?;
    with_instance(&app, group, name, move |i| consumers::subscribe(i, body.as_ref())).await?;
    Ok(no_content())
}

async fn subscriptions(State(app): Shared, Path((group, name)): Path<(String, String)>) -> Answer {
    Ok(kafka_json(&with_instance(&app, group, name, consumers::subscriptions).await?))
}

async fn unsubscribe(State(app): Shared, Path((group, name)): Path<(String, String)>) -> Answer {
    with_instance(&app, group, name, consumers::unsubscribe).await?;
    Ok(no_content())
}

async fn assign(
    State(app): Shared,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let body = json_body(&headers, &body)?;
    with_instance(&app, group, name, move |i| consumers::assign(i, body.as_ref())).await?;
    Ok(no_content())
}

async fn poll(
    State(app): Shared,
    Path((group, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let number = |key: &str| -> Result<Option<u64>, ApiError> {
        query
            .get(key)
            .map(|raw| {
                raw.parse::<u64>().map_err(|_| {
                    ApiError::schema(vec![
                        format!("Property \"{key}\" does not match schema"),
                        wrong_type(&Json::String(raw.clone()), "integer"),
                    ])
                })
            })
            .transpose()
    };
    let (timeout, max_bytes) = (number("timeout")?, number("max_bytes")?);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(String::from);
    let instance = app.consumers.get(&group, &name);
    let content_type = instance.as_ref().map(|i| i.format.content_type()).unwrap_or(KAFKA_JSON);
    let body =
        with_instance(&app, group, name, move |i| consumers::poll(i, accept.as_deref(), timeout, max_bytes)).await?;
    Ok(json_response(StatusCode::OK, content_type, body))
}

async fn commit(
    State(app): Shared,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let body = json_body(&headers, &body)?;
    with_instance(&app, group, name, move |i| consumers::commit(i, body.as_ref())).await?;
    Ok(no_content())
}

async fn seek_any(app: &App, group: String, name: String, headers: &HeaderMap, body: &Bytes, to: SeekTo) -> Answer {
    let body = json_body(headers, body)?;
    with_instance(app, group, name, move |i| consumers::seek(i, body.as_ref(), to)).await?;
    Ok(no_content())
}

async fn seek(
    State(app): Shared,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    seek_any(&app, group, name, &headers, &body, SeekTo::Offsets).await
}

async fn seek_to_beginning(
    State(app): Shared,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    seek_any(&app, group, name, &headers, &body, SeekTo::Beginning).await
}

async fn seek_to_end(
    State(app): Shared,
    Path((group, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    seek_any(&app, group, name, &headers, &body, SeekTo::End).await
}

// ---- CORS ----

fn origin_allowed(cors: &Cors, origin: &str) -> bool {
    cors.origins.as_ref().is_none_or(|pattern| pattern.is_match(origin))
}

/// Vert.x's `CorsHandler`: a request from a disallowed origin is refused (403); a pre-flight is answered here
/// (204 with the allowed methods and headers); other requests from allowed origins get `Access-Control-Allow-Origin`.
async fn cors(State(app): Shared, request: Request, next: Next) -> Response {
    let Some(cors) = app.config.cors.as_ref() else { return next.run(request).await };
    let Some(origin) = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(String::from) else {
        return next.run(request).await;
    };
    if !origin_allowed(cors, &origin) {
        return ApiError::new(403, "CORS Rejected - Invalid origin").into_response();
    }
    let allow_origin = if cors.origins.is_none() { "*".to_string() } else { origin };
    let allow_origin = HeaderValue::from_str(&allow_origin).unwrap_or(HeaderValue::from_static("*"));
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let wanted = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim()
            .to_ascii_uppercase();
        if !cors.methods.contains(&wanted) {
            return ApiError::new(403, "CORS Rejected - Invalid method").into_response();
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if let Ok(methods) = HeaderValue::from_str(&cors.methods.join(",")) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
        }
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(CORS_HEADERS));
        return response;
    }
    let mut response = next.run(request).await;
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_uri_follows_the_request_or_the_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("bridge:8080"));
        assert_eq!(base_uri(&headers, "/consumers/g", "c").unwrap(), "http://bridge:8080/consumers/g/instances/c");
        headers.insert("x-forwarded-host", HeaderValue::from_static("gateway"));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(base_uri(&headers, "/consumers/g/", "c").unwrap(), "https://gateway:443/consumers/g/instances/c");
        headers.insert("forwarded", HeaderValue::from_static("host=proxy:9000;proto=http"));
        headers.insert("x-forwarded-path", HeaderValue::from_static("/api/consumers/g"));
        assert_eq!(base_uri(&headers, "/consumers/g", "c").unwrap(), "http://proxy:9000/api/consumers/g/instances/c");
        headers.insert("forwarded", HeaderValue::from_static("host=proxy;proto=ftp"));
        assert_eq!(base_uri(&headers, "/consumers/g", "c").unwrap_err().message, "ftp is not a valid schema/proto.");
    }

    #[test]
    fn the_openapi_document_is_json_and_names_every_route() {
        let doc: Json = serde_json::from_str(OPENAPI).unwrap();
        for path in [
            "/topics/{topicname}",
            "/topics/{topicname}/partitions/{partitionid}/offsets",
            "/consumers/{groupid}/instances/{name}/records",
            "/consumers/{groupid}/instances/{name}/positions/end",
            "/admin/topics",
            "/healthy",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is missing from openapi.json");
        }
    }
}
