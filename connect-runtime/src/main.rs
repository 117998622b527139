//! The `connect` command: parses arguments and starts the requested mode.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A Kafka Connect-compatible worker.
#[derive(Parser)]
#[command(name = "connect", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run connectors in one process, offsets in a local file; REST API on `listeners`.
    Standalone {
        /// The worker configuration (.properties).
        worker: PathBuf,
        /// Connector configurations (.properties or .json); more can be created over the REST API.
        connectors: Vec<PathBuf>,
    },
    /// Join a group of workers through Kafka; configs, offsets and statuses in Kafka topics; REST API on `listeners`.
    Distributed {
        /// The worker configuration (.properties).
        worker: PathBuf,
    },
    /// Run MirrorMaker 2 (dedicated mode): the replication flows of a connect-mirror-maker.properties file.
    #[command(name = "mirror-maker")]
    MirrorMaker {
        /// The MirrorMaker 2 configuration (Kafka's connect-mirror-maker.properties format).
        config: PathBuf,
        /// Run only the flows to these target clusters (aliases of `clusters`, comma- or space-separated).
        #[arg(long, num_args = 1.., value_delimiter = ',', value_name = "CLUSTER")]
        clusters: Vec<String>,
    },
    /// Run the HTTP Bridge (dedicated mode): Strimzi Kafka Bridge's HTTP API, configured by its application.properties.
    Bridge {
        /// The Bridge configuration (Strimzi's application.properties keys: bridge.*, http.*, kafka.*).
        config: PathBuf,
    },
    /// Inspect plugins.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// List the connectors found in the plugin path and the built-in ones.
    List {
        /// Comma-separated plugin directories (default: ./plugins).
        #[arg(long)]
        plugin_path: Option<String>,
        /// Read plugin.path from this worker configuration instead.
        #[arg(long, conflicts_with = "plugin_path")]
        worker_config: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    connect_runtime::cli::init_logging();
    let result = match cli.command {
        Command::Standalone { worker, connectors } => connect_runtime::cli::standalone::run(&worker, &connectors),
        Command::Distributed { worker } => connect_runtime::cli::distributed::run(&worker),
        Command::MirrorMaker { config, clusters } => connect_runtime::cli::mirror_maker::run(&config, &clusters),
        Command::Bridge { config } => connect_runtime::cli::bridge::run(&config),
        Command::Plugins { command: PluginsCommand::List { plugin_path, worker_config, json } } => {
            connect_runtime::cli::plugins::list(plugin_path, worker_config, json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
