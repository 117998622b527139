//! The `connect` subcommands. Each returns an error whose message names the file and key at fault; `main`
//! prints it and exits non-zero.

pub mod bridge;
pub mod distributed;
pub mod entrypoint;
pub mod exporter;
pub mod image;
pub mod mirror_maker;
pub mod new;
pub mod plugins;
pub mod standalone;

/// Sets up logging to stderr: `RUST_LOG` when set, `info` otherwise; levels can change at run time
/// ([`crate::logging`]).
pub fn init_logging() {
    crate::logging::init();
}

/// Serves `router` on every bound listener, each in its own task of `runtime`; a failing listener is logged.
pub(crate) fn serve_rest(
    runtime: &tokio::runtime::Runtime,
    listeners: Vec<crate::rest::server::BoundListener>,
    router: axum::Router,
) {
    for listener in listeners {
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let scheme = if listener.is_https() { "https" } else { "http" };
        let router = router.clone();
        tracing::info!("REST API listening on {scheme}://{local}");
        runtime.spawn(async move {
            if let Err(err) = crate::rest::server::serve(listener, router).await {
                tracing::error!("the REST listener on {local} failed: {err}");
            }
        });
    }
}

/// The small runtime of the REST API, the group members and the herders' admin calls; plugin code never runs on it.
pub(crate) fn io_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("connect-io")
        .enable_all()
        .build()
        .context("starting the I/O runtime")
}

/// A flag that SIGINT and SIGTERM set.
pub(crate) fn stop_on_signals() -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use anyhow::Context;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("installing the signal handlers")?;
    }
    Ok(stop)
}
