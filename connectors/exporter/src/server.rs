//! The HTTP side, as kafka_exporter serves it: the metrics on `web.telemetry-path`, `ok` on `/healthz`, a small
//! HTML page on every other path; on a tokio runtime of its own (the connector's task or the dedicated mode owns
//! it). Concurrent scrapes share one collection unless `concurrent.enable` is set.
//!
//! A scrape never waits longer than its deadline: `scrape.timeout`, lowered to 90% of Prometheus'
//! `X-Prometheus-Scrape-Timeout-Seconds` when that header is sent, so the answer arrives before Prometheus gives up.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use connect_api::ConnectError;
use tokio::sync::{watch, Notify};

use crate::collect::Collector;
use crate::config::ExporterConfig;
use crate::kafka::KafkaError;
use crate::process::{self, HandlerCounts};
use crate::render;

/// A collection's rendered text, shared by the scrapes that wait for it.
type Shared = watch::Receiver<Option<Arc<String>>>;

struct App {
    collector: Arc<Collector>,
    in_flight: tokio::sync::Mutex<Option<Shared>>,
    handler: HandlerCounts,
}

/// The exporter of a running task (or of the dedicated mode).
pub struct RunningExporter {
    runtime: tokio::runtime::Runtime,
    app: Arc<App>,
    shutdown: Arc<Notify>,
    local: SocketAddr,
}

impl RunningExporter {
    /// Binds `web.listen-address` (a taken port is an error naming the key) and serves.
    pub fn start(config: ExporterConfig) -> Result<RunningExporter, ConnectError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kafka-exporter")
            .enable_all()
            .build()
            .map_err(|e| ConnectError::new(format!("cannot start the Kafka Exporter's runtime: {e}")))?;
        let listen = config.listen.clone();
        let path = config.telemetry_path.clone();
        let listener = runtime
            .block_on(bind(&listen))
            .map_err(|e| ConnectError::config("web.listen-address", format!("cannot listen on {listen}: {e}")))?;
        let local = listener.local_addr().map_err(|e| ConnectError::new(e.to_string()))?;
        let app = Arc::new(App {
            collector: Arc::new(Collector::new(Arc::new(config))),
            in_flight: tokio::sync::Mutex::new(None),
            handler: HandlerCounts::default(),
        });
        let router = Router::new()
            .route(&path, get(metrics))
            .route("/healthz", get(|| async { "ok" }))
            .fallback(home)
            .with_state(app.clone());
        let shutdown = Arc::new(Notify::new());
        let stop = shutdown.clone();
        tracing::info!("the Kafka Exporter serves http://{local}{path}");
        runtime.spawn(async move {
            let stopped = async move { stop.notified().await };
            if let Err(err) = axum::serve(listener, router).with_graceful_shutdown(stopped).await {
                tracing::error!("the Kafka Exporter's listener on {local} failed: {err}");
            }
        });
        Ok(RunningExporter { runtime, app, shutdown, local })
    }

    /// The address the metrics are served on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Asks the cluster for its metadata, within `timeout` (the dedicated mode's start-up check).
    pub fn probe(&self, timeout: Duration) -> Result<(), KafkaError> {
        let collector = self.app.collector.clone();
        let bootstrap = collector.config().client.bootstrap.join(",");
        self.runtime.block_on(async move {
            tokio::time::timeout(timeout, collector.probe()).await.unwrap_or(Err(KafkaError::Timeout {
                broker: bootstrap,
                api: "Metadata",
                timeout,
            }))
        })
    }

    /// Stops serving and closes the Kafka connections.
    pub fn stop(self) {
        self.shutdown.notify_waiters();
        self.app.collector.client().close();
        self.runtime.shutdown_timeout(Duration::from_secs(2));
    }
}

/// `host:port`, or every interface for `:port` (IPv6 and IPv4 where the host has both, as Go listens).
async fn bind(listen: &crate::config::ListenAddress) -> std::io::Result<tokio::net::TcpListener> {
    match &listen.host {
        Some(host) => tokio::net::TcpListener::bind((host.as_str(), listen.port)).await,
        None => match tokio::net::TcpListener::bind(("::", listen.port)).await {
            Ok(listener) => Ok(listener),
            Err(_) => tokio::net::TcpListener::bind(("0.0.0.0", listen.port)).await,
        },
    }
}

/// kafka_exporter answers every path it does not know with its home page.
async fn home(State(app): State<Arc<App>>) -> Html<String> {
    let path = &app.collector.config().telemetry_path;
    Html(format!(
        "<html>\n\t        <head><title>Kafka Exporter</title></head>\n\t        <body>\n\t        <h1>Kafka Exporter</h1>\n\t        \
         <p><a href='{path}'>Metrics</a></p>\n\t        </body>\n\t        </html>"
    ))
}

/// The scrape's deadline: `scrape.timeout`, or 90% of Prometheus' own timeout when that is shorter.
fn deadline(config: &ExporterConfig, headers: &HeaderMap) -> tokio::time::Instant {
    let prometheus = headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s * 0.9));
    let budget = prometheus.map_or(config.scrape_timeout, |p| p.min(config.scrape_timeout));
    tokio::time::Instant::now() + budget
}

/// Counts a scrape in flight until dropped (also when the client goes away and the handler is cancelled).
struct InFlight<'a>(&'a HandlerCounts);

impl<'a> InFlight<'a> {
    fn new(counts: &'a HandlerCounts) -> Self {
        counts.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(counts)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let in_flight = InFlight::new(&app.handler);
    let deadline = deadline(app.collector.config(), &headers);
    let kafka = kafka_text(&app, deadline).await;
    let mut body = String::with_capacity(kafka.len() + 4096);
    body.push_str(&kafka);
    body.push_str(&render::encode(process::families(&app.handler)));
    drop(in_flight);
    app.handler.ok.fetch_add(1, Ordering::Relaxed);
    (StatusCode::OK, [(header::CONTENT_TYPE, render::CONTENT_TYPE)], body).into_response()
}

/// The Kafka series: a collection of its own with `concurrent.enable`, else the one under way (or a new one).
async fn kafka_text(app: &Arc<App>, deadline: tokio::time::Instant) -> Arc<String> {
    let collector = app.collector.clone();
    if collector.config().concurrent {
        let scrape = collector.collect(deadline).await;
        return Arc::new(render::encode(render::kafka_families(&scrape, &collector)));
    }
    let mut shared = {
        let mut slot = app.in_flight.lock().await;
        match slot.as_ref() {
            Some(shared) => shared.clone(),
            None => {
                let (publish, shared) = watch::channel(None);
                *slot = Some(shared.clone());
                let app = app.clone();
                // Spawned, so a client that goes away does not cancel what others wait for.
                tokio::spawn(async move {
                    let scrape = collector.collect(deadline).await;
                    let text = Arc::new(render::encode(render::kafka_families(&scrape, &collector)));
                    *app.in_flight.lock().await = None;
                    let _ = publish.send(Some(text));
                });
                shared
            }
        }
    };
    loop {
        if let Some(text) = shared.borrow_and_update().clone() {
            return text;
        }
        if shared.changed().await.is_err() {
            return Arc::new(String::new());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> ExporterConfig {
        let mut props = connect_api::Config::from([
            ("kafka.server".to_string(), "127.0.0.1:9".to_string()),
            ("web.listen-address".to_string(), "127.0.0.1:0".to_string()),
        ]);
        for (k, v) in pairs {
            props.insert(k.to_string(), v.to_string());
        }
        ExporterConfig::parse(&props).unwrap()
    }

    #[test]
    fn prometheus_timeout_shortens_the_deadline() {
        let config = config(&[("scrape.timeout", "10s")]);
        let now = tokio::time::Instant::now();
        let mut headers = HeaderMap::new();
        let budget = |h: &HeaderMap| deadline(&config, h) - now;
        assert!(budget(&headers) >= Duration::from_secs(10));
        headers.insert("x-prometheus-scrape-timeout-seconds", "5".parse().unwrap());
        let five = budget(&headers);
        assert!(five >= Duration::from_millis(4500) && five < Duration::from_millis(4600), "{five:?}");
        headers.insert("x-prometheus-scrape-timeout-seconds", "60".parse().unwrap());
        assert!(budget(&headers) < Duration::from_millis(10_100));
        headers.insert("x-prometheus-scrape-timeout-seconds", "nonsense".parse().unwrap());
        assert!(budget(&headers) >= Duration::from_secs(10));
    }

    /// A broker address nobody listens on: the scrape still answers, in time, with the error counted.
    #[test]
    fn an_unreachable_cluster_still_gets_an_answer() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let exporter =
            RunningExporter::start(config(&[("kafka.server", &closed.to_string()), ("scrape.timeout", "2s")])).unwrap();
        let addr = exporter.local_addr();
        let get = |path: &str| {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        };
        let started = std::time::Instant::now();
        let answer = get("/metrics");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("kafka_exporter_scrape_errors_total{reason=\"kafka\"} 1"), "{answer}");
        assert!(answer.contains("kafka_exporter_build_info{"), "{answer}");
        assert!(!answer.contains("kafka_brokers"), "{answer}");
        assert!(get("/healthz").ends_with("ok"));
        assert!(get("/anything").contains("<a href='/metrics'>Metrics</a>"));
        exporter.stop();
    }
}
