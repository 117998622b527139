//! A real HTTP server for tests of HTTP sinks: axum on a free port of 127.0.0.1 (optionally https, optionally
//! requiring a client certificate), on its own runtime, stopped on drop. It records every request it gets, checks
//! authorization (a fixed header, or OAuth2 bearer tokens it issues itself at `/oauth/token` with a lifetime of the
//! test's choosing), and answers as the test scripts it: 200, any status, 429 with Retry-After, or a hang.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;

/// How the server answers a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// 200 OK.
    Ok,
    /// This status, with a short body.
    Status(u16),
    /// 429 Too Many Requests with this `Retry-After` value.
    TooManyRequests(String),
    /// No answer for this long (then 503, long after any client gave up).
    Hang(Duration),
}

/// A request the server got.
#[derive(Clone, Debug)]
pub struct Received {
    /// The method.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The status answered; 0 for a request left hanging.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the server acknowledged it (2xx).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// TLS material of an https server: its certificate chain and key (PEM), and the CA whose client certificates it
/// requires, if any.
#[derive(Clone, Debug)]
pub struct TlsIdentity {
    /// The server's certificate chain, PEM.
    pub cert_pem: String,
    /// The server's private key, PEM.
    pub key_pem: String,
    /// Client certificates must be signed by this CA (PEM); `None`: no client certificate asked.
    pub client_ca_pem: Option<String>,
}

#[derive(Default)]
struct Script {
    next: VecDeque<Reply>,
    default: Option<Reply>,
    reject: Vec<(String, u16)>,
    required_header: Option<(String, String)>,
    oauth: Option<OAuth>,
}

struct OAuth {
    client_id: String,
    client_secret: String,
    lifetime: Duration,
    issued: Vec<(String, Instant)>,
}

#[derive(Default)]
struct Counters {
    requests: u64,
    records: u64,
    bytes: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

struct ServerState {
    script: Mutex<Script>,
    received: Mutex<Vec<Received>>,
    /// Count only (benchmarks): no request is kept.
    counting: bool,
    counters: Mutex<Counters>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running test HTTP server.
pub struct HttpServer {
    port: u16,
    https: bool,
    state: Arc<ServerState>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl HttpServer {
    /// An http server answering 200 to everything until told otherwise.
    pub fn start() -> HttpServer {
        Self::launch(None, false)
    }

    /// An https server.
    pub fn start_tls(identity: TlsIdentity) -> HttpServer {
        Self::launch(Some(identity), false)
    }

    /// An http server that keeps no request, only counts them and their records (one per line of a body, at least
    /// one per request): for benchmarks.
    pub fn start_counting() -> HttpServer {
        Self::launch(None, true)
    }

    fn launch(tls: Option<TlsIdentity>, counting: bool) -> HttpServer {
        let state = Arc::new(ServerState {
            script: Mutex::default(),
            received: Mutex::default(),
            counting,
            counters: Mutex::default(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-http-server")
            .enable_all()
            .build()
            .expect("test server runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the test HTTP server");
        let port = listener.local_addr().expect("local address").port();
        listener.set_nonblocking(true).expect("non-blocking listener");
        let router =
            Router::new().route("/oauth/token", axum::routing::post(token)).fallback(handle).with_state(state.clone());
        let https = tls.is_some();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            match tls {
                None => {
                    let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
                }
                Some(identity) => serve_tls(listener, router, identity).await,
            }
        });
        HttpServer { port, https, state, runtime: Some(runtime) }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>` (`https://localhost:<port><path>` for an https server).
    pub fn url(&self, path: &str) -> String {
        if self.https {
            format!("https://localhost:{}{path}", self.port)
        } else {
            format!("http://127.0.0.1:{}{path}", self.port)
        }
    }

    /// The OAuth2 token endpoint (`/oauth/token`).
    pub fn token_url(&self) -> String {
        self.url("/oauth/token")
    }

    /// Answers the next requests (that pass the authorization check) with `replies`, in order.
    pub fn reply_next(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.state.script).next.extend(replies);
    }

    /// Answers requests with `reply` once the scripted replies are used up (200 unless set).
    pub fn reply_by_default(&self, reply: Reply) {
        lock(&self.state.script).default = Some(reply);
    }

    /// Answers `status` to every request whose body contains `needle`.
    pub fn reject_body_containing(&self, needle: &str, status: u16) {
        lock(&self.state.script).reject.push((needle.to_string(), status));
    }

    /// Answers 401 to requests without header `name` set to `value`.
    pub fn require_header(&self, name: &str, value: &str) {
        lock(&self.state.script).required_header = Some((name.to_string(), value.to_string()));
    }

    /// Issues bearer tokens living `lifetime` at `/oauth/token` to this client (id and secret in an
    /// `Authorization: Basic` header or as form fields) and answers 401 to requests without a live one.
    pub fn require_oauth2(&self, client_id: &str, client_secret: &str, lifetime: Duration) {
        lock(&self.state.script).oauth = Some(OAuth {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            lifetime,
            issued: Vec::new(),
        });
    }

    /// Makes every token issued so far invalid, as a server that rotated its keys: their next use gets 401.
    pub fn revoke_tokens(&self) {
        if let Some(oauth) = lock(&self.state.script).oauth.as_mut() {
            let now = Instant::now();
            for (_, until) in &mut oauth.issued {
                *until = now;
            }
        }
    }

    /// How many tokens the server issued.
    pub fn tokens_issued(&self) -> usize {
        lock(&self.state.script).oauth.as_ref().map_or(0, |o| o.issued.len())
    }

    /// Every request received so far (token requests excluded), in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        lock(&self.state.received).clone()
    }

    /// The requests answered with 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.requests().into_iter().filter(Received::accepted).collect()
    }

    /// (requests, records, body bytes) acknowledged, in counting mode.
    pub fn counts(&self) -> (u64, u64, u64) {
        let c = lock(&self.state.counters);
        (c.requests, c.records, c.bytes)
    }

    /// The time from the first request counted to the last, in counting mode.
    pub fn counted_span(&self) -> Duration {
        let c = lock(&self.state.counters);
        match (c.first, c.last) {
            (Some(first), Some(last)) => last - first,
            _ => Duration::ZERO,
        }
    }

    /// Waits until `check` holds for the requests received, or panics with them after `timeout`.
    pub fn wait_until(&self, what: &str, timeout: Duration, check: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.requests();
            if check(&received) {
                return received;
            }
            if Instant::now() > deadline {
                let statuses: Vec<u16> = received.iter().map(|r| r.status).collect();
                panic!("timed out after {timeout:?} waiting for {what}; statuses received: {statuses:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn serve_tls(listener: tokio::net::TcpListener, router: Router, identity: TlsIdentity) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(identity.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("server certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).expect("server key PEM");
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = match &identity.client_ca_pem {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots.add(cert.expect("client CA PEM")).expect("client CA");
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).expect("server certificate and key");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            // A client without an acceptable certificate fails here, as it would against a real server.
            let Ok(stream) = acceptor.accept(tcp).await else { return };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn token(State(state): State<Arc<ServerState>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let credentials = basic_credentials(&headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    let mut script = lock(&state.script);
    let Some(oauth) = script.oauth.as_mut() else {
        return (StatusCode::NOT_FOUND, "no token endpoint configured").into_response();
    };
    if field("grant_type").as_deref() != Some("client_credentials") {
        return (StatusCode::BAD_REQUEST, r#"{"error":"unsupported_grant_type"}"#).into_response();
    }
    if credentials != Some((oauth.client_id.clone(), oauth.client_secret.clone())) {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#).into_response();
    }
    let token = format!("token-{}", oauth.issued.len() + 1);
    oauth.issued.push((token.clone(), Instant::now() + oauth.lifetime));
    let body = serde_json::json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": oauth.lifetime.as_secs_f64(),
    });
    ([("content-type", "application/json")], body.to_string()).into_response()
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = choose(&state, &headers, &body);
    if state.counting {
        if matches!(reply, Reply::Ok) {
            let mut counters = lock(&state.counters);
            counters.requests += 1;
            counters.records += (body.iter().filter(|b| **b == b'\n').count() as u64).max(1);
            counters.bytes += body.len() as u64;
            let now = Instant::now();
            counters.first.get_or_insert(now);
            counters.last = Some(now);
        }
    } else {
        let status = match &reply {
            Reply::Ok => 200,
            Reply::Status(status) => *status,
            Reply::TooManyRequests(_) => 429,
            Reply::Hang(_) => 0,
        };
        lock(&state.received).push(Received {
            method: method.to_string(),
            path: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect(),
            body: body.to_vec(),
            status,
            at: Instant::now(),
        });
    }
    match reply {
        Reply::Ok => (StatusCode::OK, "ok").into_response(),
        Reply::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, format!("test server answers {status}")).into_response()
        }
        Reply::TooManyRequests(after) => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", after)], "slow down").into_response()
        }
        Reply::Hang(duration) => {
            tokio::time::sleep(duration).await;
            (StatusCode::SERVICE_UNAVAILABLE, "too late").into_response()
        }
    }
}

/// The reply to a data request: 401 without valid authorization, else the next scripted reply, a rejection
/// rule, or the default.
fn choose(state: &ServerState, headers: &HeaderMap, body: &[u8]) -> Reply {
    let mut script = lock(&state.script);
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Some((name, value)) = &script.required_header {
        if headers.get(name.as_str()).and_then(|v| v.to_str().ok()) != Some(value.as_str()) {
            return Reply::Status(401);
        }
    }
    if let Some(oauth) = &script.oauth {
        let now = Instant::now();
        let live = authorization
            .strip_prefix("Bearer ")
            .is_some_and(|t| oauth.issued.iter().any(|(token, until)| token == t && now < *until));
        if !live {
            return Reply::Status(401);
        }
    }
    if let Some(reply) = script.next.pop_front() {
        return reply;
    }
    let text = String::from_utf8_lossy(body);
    if let Some((_, status)) = script.reject.iter().find(|(needle, _)| text.contains(needle.as_str())) {
        return Reply::Status(*status);
    }
    script.default.clone().unwrap_or(Reply::Ok)
}
