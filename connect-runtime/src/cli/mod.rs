//! The `connect` subcommands. Each returns an error whose message names the file and key at fault; `main`
//! prints it and exits non-zero.

pub mod distributed;
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
