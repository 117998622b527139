//! `connect mirror-maker mm2.properties [--clusters B,...]`: MirrorMaker 2's dedicated mode, as Kafka's
//! `connect-mirror-maker.sh`. Each replication flow `A->B` gets a distributed herder on its target cluster B (group
//! `A-mm2`, internal topics `mm2-{configs,offsets,status}.A.internal`) that runs the flow's MirrorSource,
//! MirrorHeartbeat and MirrorCheckpoint connectors; processes started with the same file join the same groups
//! and share the work.
//!
//! Only the leader of a flow's group writes its connector configs, and only when they differ from the stored
//! ones: processes with the same file converge on one write and never rewrite each other's. There is no public
//! REST API; one internal endpoint per flow (`POST /<source>/<target>/connectors/<name>/tasks`) lets a follower
//! hand the task configs it generated to its leader, as Kafka's `dedicated.mode.enable.internal.rest` does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::distributed::DistributedWorker;
use crate::config::mirror_maker::{MirrorMakerConfig, SourceAndTarget, MIRROR_CONNECTORS};
use crate::config::{connector_config_def, ConfigError, DistributedConfig, RestConfig, Scheme};
use crate::herder::api::{HerderError, HerderHandle, HerderRequest};
use crate::plugins::PluginRegistry;
use crate::rest;
use crate::rest::auth::BasicAuth;
use crate::rest::error::RestError;
use crate::rest::server::BoundListener;
use crate::storage::kafka::KafkaConfigStore;

/// How often each flow compares the stored connector configs with the file's.
const CONFIGURE_INTERVAL: Duration = Duration::from_secs(2);

/// Connector configs by connector name; `None`: the connector must not exist.
type ConnectorConfigs = Vec<(String, Option<BTreeMap<String, String>>)>;

/// A flow ready to start: its worker configuration, plugins and the connector configs its file asks for.
struct Flow {
    flow: SourceAndTarget,
    worker: DistributedConfig,
    registry: Arc<PluginRegistry>,
    connectors: ConnectorConfigs,
}

/// Runs the flows of `file` that target one of `clusters` (all when empty) until SIGINT or SIGTERM.
pub fn run(file: &Path, clusters: &[String]) -> anyhow::Result<()> {
    tracing::info!("Kafka MirrorMaker initializing ...");
    let config = MirrorMakerConfig::load(file)?;
    let pairs = config.herder_pairs(clusters)?;
    config.check_bootstrap_servers(&pairs)?;
    let rest_config = config.internal_rest(std::env::var("KAFKA_OPTS").ok().as_deref())?;
    // Every configuration error first, before anything connects or is written.
    let mut flows = Vec::new();
    for flow in pairs {
        let worker = config.worker_config(&flow)?;
        let registry = Arc::new(PluginRegistry::new(worker.worker.plugin_path.clone()));
        let connectors = connector_configs(&config, &flow, &registry)?;
        flows.push(Flow { flow, worker, registry, connectors });
    }
    let targets: BTreeSet<&str> = flows.iter().map(|f| f.flow.target.as_str()).collect();
    tracing::info!("Targeting clusters {targets:?}");

    let runtime = super::io_runtime()?;
    let listeners = runtime.block_on(rest::server::bind(&rest_config))?;
    let auth = rest_config.basic_auth.as_ref().map(BasicAuth::load).transpose()?;
    let base_url = advertised_base_url(&config, &rest_config, &listeners)?;
    let mut probed = BTreeSet::new();
    for flow in &flows {
        if probed.insert(flow.flow.target.as_str()) {
            check_reachable(&config, &flow.flow.target, &flow.worker)?;
        }
    }

    let file_name = file.display().to_string();
    let mut router = Router::new();
    let mut started = Vec::new();
    for Flow { flow, mut worker, registry, connectors } in flows {
        tracing::info!("creating herder for {flow}");
        let namespace = format!("{}/{}", path_segment(&flow.source), path_segment(&flow.target));
        worker.advertised_url = format!("{base_url}{namespace}/");
        worker.listeners = rest_config.listeners.iter().map(|l| l.url.clone()).collect();
        worker.rest = rest_config.clone();
        let node = DistributedWorker::start(Arc::new(worker), &runtime, registry, &file_name)
            .with_context(|| format!("flow {flow}"))?;
        router = router.nest(&format!("/{namespace}"), internal_only(rest::router(node.rest.clone())));
        started.push((flow, node, connectors));
    }
    let router = router.fallback(|| async { RestError::not_found("HTTP 404 Not Found") });

    let stop = super::stop_on_signals()?;
    super::serve_rest(&runtime, listeners, rest::auth::protect(router, auth));
    let mut herders = Vec::new();
    for (flow, node, connectors) in started {
        runtime.spawn(keep_connectors_configured(
            flow.clone(),
            node.handle(),
            node.configs.clone(),
            connectors,
            stop.clone(),
        ));
        let stop = stop.clone();
        let name = flow.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("herder-{flow}"))
            .spawn(move || {
                // A herder that ends for any reason (a panic included) stops the others: the process exits.
                let _stop_all = StopOnDrop(stop.clone());
                let _span = tracing::info_span!("mirror", flow = %name).entered();
                node.run(stop);
            })
            .with_context(|| format!("starting the herder thread of flow {flow}"))?;
        herders.push((flow, thread));
    }
    tracing::info!("Kafka MirrorMaker started with {} herders", herders.len());

    let mut failed = Vec::new();
    for (flow, thread) in herders {
        if thread.join().is_err() {
            failed.push(flow.to_string());
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    if !failed.is_empty() {
        return Err(anyhow!("the herder of flow {} failed; see the log above", failed.join(", ")));
    }
    tracing::info!("Kafka MirrorMaker stopped");
    Ok(())
}

/// Sets the flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The configs of the three MirrorMaker connectors of `flow`. Kafka keeps the top-level keys that any of them
/// defines, so the keys come from the registry's definitions of all three plus the framework's.
fn connector_configs(
    config: &MirrorMakerConfig,
    flow: &SourceAndTarget,
    registry: &PluginRegistry,
) -> Result<ConnectorConfigs, ConfigError> {
    let mut keys = BTreeSet::new();
    for class in MIRROR_CONNECTORS {
        let plugin = registry.find(class).ok_or_else(|| {
            ConfigError::new(&config.file, None, format!("connector {class} is not available in this worker"))
        })?;
        keys.extend(plugin.config_def().keys().iter().map(|k| k.name.clone()));
        keys.extend(connector_config_def(plugin.kind()).keys().iter().map(|k| k.name.clone()));
    }
    Ok(config.flow_connectors(flow, &keys))
}

/// Fails fast, naming `<alias>.bootstrap.servers`, when the target cluster of a flow does not answer within
/// `default.api.timeout.ms`.
fn check_reachable(config: &MirrorMakerConfig, alias: &str, worker: &DistributedConfig) -> anyhow::Result<()> {
    let cluster_key = format!("{alias}.bootstrap.servers");
    let key = if config.props.contains_key(&cluster_key) { cluster_key.as_str() } else { "bootstrap.servers" };
    let probe: BaseConsumer = crate::worker::kafka::probe_config(&worker.worker)
        .create()
        .map_err(|e| anyhow!("{}: invalid client settings of cluster {alias}: {e}", config.file.display()))?;
    probe.fetch_metadata(None, worker.worker.api_timeout).map_err(|e| {
        anyhow!(
            "{}: {key}: cannot reach cluster {alias} at {} within {} ms (default.api.timeout.ms): {e}",
            config.file.display(),
            worker.worker.bootstrap_servers,
            worker.worker.api_timeout.as_millis()
        )
    })?;
    Ok(())
}

/// `scheme://host:port/` where the other processes reach this one's internal endpoint: the listener chosen by
/// `rest.advertised.listener` (else the first), `rest.advertised.host.name` / `rest.advertised.port` over the
/// listener's host and the port actually bound.
fn advertised_base_url(
    config: &MirrorMakerConfig,
    rest: &RestConfig,
    bound: &[BoundListener],
) -> Result<String, ConfigError> {
    let setting = |key: &str| config.props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let index = match setting("rest.advertised.listener") {
        None => 0,
        Some(wanted) => {
            let key = Some("rest.advertised.listener");
            let scheme = match wanted.to_ascii_lowercase().as_str() {
                "http" => Scheme::Http,
                "https" => Scheme::Https,
                _ => return Err(ConfigError::new(&config.file, key, "must be http or https")),
            };
            rest.listeners
                .iter()
                .position(|l| l.scheme == scheme)
                .ok_or_else(|| ConfigError::new(&config.file, key, format!("no {scheme}:// listener in listeners")))?
        }
    };
    let (Some(listener), Some(bound)) = (rest.listeners.get(index), bound.get(index)) else {
        return Err(ConfigError::new(&config.file, Some("listeners"), "must name at least one listener"));
    };
    let host = match setting("rest.advertised.host.name") {
        Some(host) => host.to_string(),
        None if listener.host.is_empty() || listener.host == "0.0.0.0" => crate::config::local_host_name(),
        None => listener.host.clone(),
    };
    let port = match setting("rest.advertised.port") {
        Some(port) => port.parse::<u16>().map_err(|_| {
            ConfigError::new(&config.file, Some("rest.advertised.port"), format!("Invalid value {port}: not a port"))
        })?,
        None => bound.local_addr().map(|a| a.port()).unwrap_or(listener.port),
    };
    Ok(format!("{}://{host}:{port}/", listener.scheme.as_str()))
}

/// A cluster alias as one URL path segment.
fn path_segment(alias: &str) -> String {
    alias
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The REST API of one flow's herder reduced to its internal endpoint: a follower posting the task configs it
/// generated to its leader. Everything else answers 404.
fn internal_only(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(only_task_configs))
}

async fn only_task_configs(request: Request, next: Next) -> Response {
    let segments: Vec<&str> = request.uri().path().trim_start_matches('/').split('/').collect();
    let internal = request.method() == Method::POST
        && matches!(segments.as_slice(), ["connectors", name, "tasks"] if !name.is_empty());
    if internal {
        next.run(request).await
    } else {
        RestError::not_found("HTTP 404 Not Found").into_response()
    }
}

/// Makes the stored configs of `flow`'s connectors those of the file (writing or deleting them), whenever this
/// process leads the flow's group and they differ. A follower leaves it to its leader, so processes sharing a file write once, and
/// processes with different files do not take turns: the leader's file wins, as in Kafka.
async fn keep_connectors_configured(
    flow: SourceAndTarget,
    herder: HerderHandle,
    configs: Arc<KafkaConfigStore>,
    connectors: ConnectorConfigs,
    stop: Arc<AtomicBool>,
) {
    let mut reported: BTreeMap<String, String> = BTreeMap::new();
    let mut follower_reported = false;
    while !stop.load(Ordering::Acquire) {
        tokio::time::sleep(CONFIGURE_INTERVAL).await;
        if !herder.is_ready() {
            continue;
        }
        let stored = configs.snapshot().connector_configs;
        for (name, config) in &connectors {
            if stored.get(name) == config.as_ref() {
                reported.remove(name);
                continue;
            }
            let result = match config {
                Some(config) => herder
                    .ask(|reply| HerderRequest::PutConnectorConfig {
                        name: name.clone(),
                        config: config.clone(),
                        allow_replace: true,
                        initial_state: None,
                        reply,
                    })
                    .await
                    .map(|written| if written.created { "created" } else { "updated" }),
                None => {
                    herder.ask(|reply| HerderRequest::DeleteConnector(name.clone(), reply)).await.map(|()| "deleted")
                }
            };
            match result {
                Ok(what) => {
                    tracing::info!("{flow}: connector {name} {what} as the MirrorMaker configuration says");
                    reported.remove(name);
                }
                Err(HerderError::NotLeader { leader_url: Some(leader) }) => {
                    if !follower_reported {
                        tracing::info!(
                            "{flow}: this node is a follower (leader {leader}); the leader configures the connectors"
                        );
                        follower_reported = true;
                    }
                }
                // Joining or rebalancing: try again next round.
                Err(HerderError::NotLeader { leader_url: None }) | Err(HerderError::Conflict(_)) => {}
                Err(err) => {
                    let message = err.to_string();
                    if reported.get(name) != Some(&message) {
                        tracing::error!("{flow}: cannot configure connector {name}: {message}");
                        reported.insert(name.clone(), message);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    #[test]
    fn aliases_become_path_segments() {
        assert_eq!(path_segment("us-west.1"), "us-west.1");
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
    }

    fn mm2(pairs: &[(&str, &str)]) -> MirrorMakerConfig {
        let mut props: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        props.insert("clusters".into(), "A, B".into());
        MirrorMakerConfig::from_props(Path::new("mm2.properties"), props).unwrap()
    }

    async fn advertised(pairs: &[(&str, &str)]) -> Result<(String, u16), ConfigError> {
        let config = mm2(pairs);
        let rest = config.internal_rest(None).unwrap();
        let bound = rest::server::bind(&rest).await.unwrap();
        let port = bound[0].local_addr().unwrap().port();
        advertised_base_url(&config, &rest, &bound).map(|url| (url, port))
    }

    #[tokio::test]
    async fn the_advertised_url_has_the_port_actually_bound() {
        let (url, port) = advertised(&[("listeners", "http://127.0.0.1:0")]).await.unwrap();
        assert_eq!(url, format!("http://127.0.0.1:{port}/"));
        let (url, _) = advertised(&[
            ("listeners", "http://127.0.0.1:0"),
            ("rest.advertised.host.name", "mm2.example"),
            ("rest.advertised.port", "9000"),
        ])
        .await
        .unwrap();
        assert_eq!(url, "http://mm2.example:9000/");
        let (url, port) = advertised(&[]).await.unwrap();
        assert_eq!(url, format!("http://{}:{port}/", crate::config::local_host_name()));
        let err = advertised(&[("listeners", "http://127.0.0.1:0"), ("rest.advertised.listener", "https")])
            .await
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("rest.advertised.listener"));
    }

    /// The task configs a herder received, by connector.
    type Received = tokio::sync::mpsc::UnboundedReceiver<(String, Vec<BTreeMap<String, String>>)>;

    /// The internal router of flow A->B over a herder that answers task configs with `answer` (a leader URL: not
    /// the leader) and reports them.
    fn flow_router(answer: Option<String>) -> (Router, Received) {
        let (handle, mut requests) = HerderHandle::channel();
        let (seen, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(request) = requests.recv().await {
                if let HerderRequest::PutTaskConfigs { name, configs, reply, .. } = request {
                    let _ = seen.send((name, configs));
                    let result = match &answer {
                        Some(leader) => Err(HerderError::NotLeader { leader_url: Some(leader.clone()) }),
                        None => Ok(()),
                    };
                    let _ = reply.send(result);
                }
            }
        });
        let registry = Arc::new(PluginRegistry::with_builtins(Vec::new(), Vec::new()));
        let board = Arc::new(crate::worker::status::StatusBoard::new("w:1"));
        let metrics = Arc::new(crate::metrics::ConnectMetrics::new(board));
        let forwarder = rest::forward::Forwarder::new(reqwest::Client::new());
        let ctx = rest::RestContext::new(handle, registry, forwarder, metrics);
        (Router::new().nest("/A/B", internal_only(rest::router(ctx))), received)
    }

    #[tokio::test]
    async fn task_configs_reach_the_leader_of_the_same_flow() {
        // The leader's process, listening like a real one.
        let (leader, mut at_leader) = flow_router(None);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, leader).await });
        // A process that has lost the leadership since the task configs were sent to it forwards them on, to the
        // leader's URL of the same flow.
        let (follower, mut at_follower) = flow_router(Some(format!("http://127.0.0.1:{port}/A/B/")));
        let body = r#"[{"task.assigned.partitions":"orders-0"}]"#;
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/A/B/connectors/MirrorSourceConnector/tasks")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let response = follower.oneshot(request).await.unwrap();
        assert_eq!(response.status().as_u16(), 204);
        let expected = vec![BTreeMap::from([("task.assigned.partitions".to_string(), "orders-0".to_string())])];
        assert_eq!(at_follower.recv().await.unwrap(), ("MirrorSourceConnector".to_string(), expected.clone()));
        assert_eq!(at_leader.recv().await.unwrap(), ("MirrorSourceConnector".to_string(), expected));
    }

    #[tokio::test]
    async fn only_the_internal_task_endpoint_is_served() {
        let inner = Router::new()
            .route("/connectors/{name}/tasks", axum::routing::post(|| async { "tasks" }).get(|| async { "list" }))
            .route("/connectors", axum::routing::get(|| async { "connectors" }));
        let app = Router::new().nest("/A/B", internal_only(inner));
        let call = |method: Method, uri: &str| {
            let request = axum::http::Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
            let app = app.clone();
            async move { app.oneshot(request).await.unwrap().status().as_u16() }
        };
        assert_eq!(call(Method::POST, "/A/B/connectors/MirrorSourceConnector/tasks").await, 200);
        assert_eq!(call(Method::GET, "/A/B/connectors/MirrorSourceConnector/tasks").await, 404);
        assert_eq!(call(Method::GET, "/A/B/connectors").await, 404);
        assert_eq!(call(Method::POST, "/B/A/connectors/MirrorSourceConnector/tasks").await, 404);
    }
}
