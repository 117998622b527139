//! HTTP basic authentication for the REST API, as Kafka Connect's `BasicAuthSecurityRestExtension` with its
//! `PropertyFileLoginModule`: users and passwords from a `user=password` properties file, checked on every request.
//!
//! Exempt: `/health`, and the internal requests Kafka Connect exempts because workers sign them instead
//! (`POST /connectors/{c}/tasks`, `PUT /connectors/{c}/fence`; see [`super::signature`]). Passwords are compared in
//! constant time and never logged; a failed attempt is logged at debug level only, as Kafka Connect does.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::RestError;
use crate::config::{read_properties, BasicAuthSettings, ConfigError};

/// The message of a 401, as Kafka Connect's `JaasBasicAuthFilter`.
pub const UNAUTHORIZED_MESSAGE: &str = "User cannot access the resource.";
/// The `WWW-Authenticate` challenge of a 401.
pub const CHALLENGE: &str = "Basic realm=\"Kafka Connect\", charset=\"UTF-8\"";

/// The users allowed to call the REST API.
pub struct BasicAuth {
    /// SHA-256 of each user's password: equal-length values to compare in constant time.
    users: BTreeMap<String, [u8; 32]>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth").field("users", &self.users.len()).finish()
    }
}

fn digest(password: &[u8]) -> [u8; 32] {
    Sha256::digest(password).into()
}

impl BasicAuth {
    /// Reads the credentials file. An unreadable file is an error located where it was configured (the worker
    /// file's `rest.basic.auth.credentials.file`, or the JAAS file's `KafkaConnect` entry).
    pub fn load(settings: &BasicAuthSettings) -> Result<Self, ConfigError> {
        let users = read_properties(&settings.credentials).map_err(|e| {
            settings.error(format!("credentials file {}: {}", settings.credentials.display(), e.message))
        })?;
        if users.is_empty() {
            // Kafka Connect's PropertyFileLoginModule behaves so; said loudly since it is rarely what is meant.
            tracing::warn!(
                "credentials file {} is empty: every REST request will be permitted",
                settings.credentials.display()
            );
        } else {
            tracing::info!("REST API: basic authentication with {} user(s)", users.len());
        }
        Ok(Self::from_users(users))
    }

    /// Users and their passwords.
    pub fn from_users(users: impl IntoIterator<Item = (String, String)>) -> Self {
        BasicAuth { users: users.into_iter().map(|(user, password)| (user, digest(password.as_bytes()))).collect() }
    }

    /// Whether an `Authorization` header carries the credentials of a known user (always true for an empty file).
    pub fn check(&self, authorization: Option<&HeaderValue>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        // An unknown user costs the same comparison as a known one.
        let expected = self.users.get(&user).copied().unwrap_or([0; 32]);
        let matches: bool = digest(password.as_bytes()).as_slice().ct_eq(expected.as_slice()).into();
        matches && self.users.contains_key(&user)
    }
}

/// `Basic base64(user:password)` to `(user, password)`; `None` when malformed or when the user name is empty.
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let (scheme, encoded) = value.to_str().ok()?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    (!user.is_empty()).then(|| (user.to_string(), password.to_string()))
}

/// Requests that pass without credentials: `/health`, and the signed internal requests.
pub fn is_exempt(method: &Method, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    if path == "/health" {
        return true;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["connectors", name, "tasks"] if !name.is_empty() => method == Method::POST,
        ["connectors", name, "fence"] if !name.is_empty() => method == Method::PUT,
        _ => false,
    }
}

/// `router` behind basic authentication when `auth` is set; the layer covers every route and the fallback.
pub fn protect(router: Router, auth: Option<BasicAuth>) -> Router {
    match auth {
        Some(auth) => router.layer(axum::middleware::from_fn_with_state(Arc::new(auth), authenticate)),
        None => router,
    }
}

async fn authenticate(State(auth): State<Arc<BasicAuth>>, request: Request, next: Next) -> Response {
    if is_exempt(request.method(), request.uri().path()) || auth.check(request.headers().get(header::AUTHORIZATION)) {
        return next.run(request).await;
    }
    tracing::debug!("REST request {} {} failed authentication", request.method(), request.uri().path());
    let mut response = RestError::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED_MESSAGE).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::{get, post, put};
    use tower::ServiceExt;

    use super::*;
    use crate::rest::error::ErrorMessage;

    fn app() -> Router {
        let router = Router::new()
            .route("/", get(|| async { "root" }))
            .route("/health", get(|| async { "healthy" }))
            .route("/connectors/{name}/tasks", get(|| async { "tasks" }).post(|| async { "posted" }))
            .route("/connectors/{name}/fence", put(|| async { "fenced" }))
            .route("/connectors/{name}/restart", post(|| async { "restarted" }));
        protect(router, Some(BasicAuth::from_users([("alice".to_string(), "s3cret:x".to_string())])))
    }

    fn basic(credentials: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
    }

    async fn call(method: Method, path: &str, authorization: Option<&str>) -> Response {
        let mut request = axum::http::Request::builder().method(method).uri(path);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        app().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn missing_or_wrong_credentials_get_401_with_kafka_connects_body() {
        for authorization in [
            None,
            Some(basic("alice:wrong")),
            Some(basic("bob:s3cret:x")),
            Some("Bearer abc".into()),
            Some("Basic !!".into()),
        ] {
            let response = call(Method::GET, "/", authorization.as_deref()).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{authorization:?}");
            assert_eq!(response.headers()[header::WWW_AUTHENTICATE], CHALLENGE);
            let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
            let body: ErrorMessage = serde_json::from_slice(&body).unwrap();
            assert_eq!(body, ErrorMessage { error_code: 401, message: UNAUTHORIZED_MESSAGE.into() });
        }
        // Unknown paths are not revealed either.
        assert_eq!(call(Method::GET, "/nowhere", None).await.status(), StatusCode::UNAUTHORIZED);
        // Only the internal methods are exempt on the internal paths.
        assert_eq!(call(Method::GET, "/connectors/c/tasks", None).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(call(Method::POST, "/connectors/c/restart", None).await.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn good_credentials_and_exempt_routes_pass() {
        // The password may contain ':' (the first one separates the user).
        let response = call(Method::GET, "/", Some(&basic("alice:s3cret:x"))).await;
        assert_eq!(response.status(), StatusCode::OK);
        let response = call(Method::GET, "/", Some(&basic("alice:s3cret:x").replace("Basic", "basic"))).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(call(Method::GET, "/health", None).await.status(), StatusCode::OK);
        assert_eq!(call(Method::POST, "/connectors/c/tasks", None).await.status(), StatusCode::OK);
        assert_eq!(call(Method::PUT, "/connectors/c/fence", None).await.status(), StatusCode::OK);
    }

    #[test]
    fn exemptions_match_kafka_connects_patterns() {
        assert!(is_exempt(&Method::POST, "/connectors/my-conn/tasks/"));
        assert!(is_exempt(&Method::PUT, "/connectors/a%2Fb/fence"));
        assert!(is_exempt(&Method::GET, "/health"));
        assert!(!is_exempt(&Method::POST, "/connectors//tasks"));
        assert!(!is_exempt(&Method::POST, "/connectors/c/tasks/0/restart"));
        assert!(!is_exempt(&Method::POST, "/connectors"));
    }

    #[test]
    fn empty_credentials_permit_everything_and_files_are_config_errors() {
        assert!(BasicAuth::from_users([]).check(None));
        let dir = tempfile::tempdir().unwrap();
        let settings = BasicAuthSettings {
            credentials: dir.path().join("missing.properties"),
            origin_file: "w.properties".into(),
            origin_key: "rest.basic.auth.credentials.file".into(),
        };
        let err = BasicAuth::load(&settings).unwrap_err();
        assert!(
            err.to_string().starts_with("w.properties: rest.basic.auth.credentials.file: credentials file"),
            "{err}"
        );
        std::fs::write(&settings.credentials, "alice = pw\n").unwrap();
        let auth = BasicAuth::load(&settings).unwrap();
        assert!(auth.check(Some(&HeaderValue::from_str(&basic("alice:pw")).unwrap())));
    }
}
