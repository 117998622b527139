//! The `connect` subcommands. Each returns an error whose message names the file and key at fault; `main`
//! prints it and exits non-zero.

pub mod distributed;
pub mod plugins;
pub mod standalone;

/// Sets up logging to stderr: `RUST_LOG` when set, `info` otherwise.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}
