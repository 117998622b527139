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
    /// Run the Kafka Exporter (dedicated mode): kafka_exporter's Prometheus metrics, taking its flags
    /// (`connect exporter --help` lists them).
    #[command(disable_help_flag = true)]
    Exporter {
        /// kafka_exporter's flags: --kafka.server=HOST:PORT, --web.listen-address=:9308, --topic.filter=REGEX, ...
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "FLAGS")]
        flags: Vec<String>,
    },
    /// Create a connector crate (source, sink or transformation) from the connector template.
    New {
        /// The crate name, e.g. my-connector.
        name: String,
        /// What to create: source, sink or transformation.
        #[arg(long, default_value = "source")]
        kind: String,
        /// The class name users configure (default: com.example.<Name>[Connector]).
        #[arg(long)]
        class: Option<String>,
        /// Async (tokio) tasks.
        #[arg(long = "async")]
        is_async: bool,
        /// Where to write the crate (default: ./NAME); must not exist or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The connect-api crate to depend on: the connect-api directory of a connect-rs checkout (default: the
        /// one this binary was built from).
        #[arg(long, value_name = "PATH")]
        connect_api: Option<PathBuf>,
    },
    /// Inspect and install plugins.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Build container images with connectors, without a daemon (Strimzi's spec.build, Source2Image's --from-dir).
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// The container images' entrypoint: writes the worker configuration from a properties file and CONNECT_*
    /// variables (Confluent's naming: CONNECT_BOOTSTRAP_SERVERS -> bootstrap.servers), then runs the worker.
    Entrypoint {
        /// The properties file to start from (default: /opt/connect/config/worker.properties when it exists).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where to write the resulting worker configuration.
        #[arg(long, default_value = connect_runtime::cli::entrypoint::DEFAULT_OUTPUT)]
        write: PathBuf,
        /// `distributed` (default) or `standalone` followed by connector configuration files.
        #[arg(default_value = "distributed", value_parser = ["distributed", "standalone"])]
        mode: String,
        /// Connector configurations (standalone mode).
        connectors: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Build an OCI image: a base image plus one layer per plugin, written as an OCI layout, an OCI archive or
    /// pushed to a registry.
    Build {
        /// The build spec (YAML or JSON): Strimzi's KafkaConnect spec.build (output, plugins[].artifacts[]), or a
        /// whole KafkaConnect resource (spec.image is then the base image).
        spec: Option<PathBuf>,
        /// Take the plugins from a directory instead (each .so file, sub-directory or archive is a plugin), as
        /// Source2Image's `oc start-build --from-dir` does.
        #[arg(long, conflicts_with = "spec")]
        from_dir: Option<PathBuf>,
        /// Where the image goes: oci:DIR[:NAME], oci-archive:FILE[:NAME] or docker://REGISTRY/REPO:TAG
        /// (repeatable; default: the spec's output).
        #[arg(long = "output", short = 'o', value_name = "OUTPUT")]
        outputs: Vec<String>,
        /// The base image: oci:DIR[:NAME], oci-archive:FILE[:NAME] or a registry reference (default: the spec's
        /// image, else connect-rs's own image made from the connect binary).
        #[arg(long)]
        base: Option<String>,
        /// The connect binary of connect-rs's own base image (default: this one).
        #[arg(long)]
        connect_binary: Option<PathBuf>,
        /// The plugin directory in the image.
        #[arg(long, default_value = "/opt/connect/plugins")]
        plugin_dir: String,
        /// Registry credentials file (Docker's config.json or a .dockerconfigjson).
        #[arg(long)]
        authfile: Option<PathBuf>,
        /// Registry credentials as USER:PASSWORD.
        #[arg(long)]
        creds: Option<String>,
        /// Verify registry TLS certificates (false: also allow plain HTTP).
        #[arg(long, value_name = "BOOL")]
        tls_verify: Option<bool>,
        /// Extra image label KEY=VALUE (repeatable).
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Write the image's manifest digest to this file.
        #[arg(long)]
        digestfile: Option<PathBuf>,
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
    /// Lay plugins out in a local plugin directory, as an image build would (the S2I assemble script uses it).
    Install {
        /// The build spec (YAML or JSON with Strimzi's spec.build).
        spec: Option<PathBuf>,
        /// Take the plugins from a directory instead.
        #[arg(long, conflicts_with = "spec")]
        from_dir: Option<PathBuf>,
        /// The plugin directory to install into.
        #[arg(long)]
        plugin_dir: PathBuf,
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
        Command::Exporter { flags } => connect_runtime::cli::exporter::run(&flags),
        Command::New { name, kind, class, is_async, dir, connect_api } => {
            connect_runtime::cli::new::run(&connect_runtime::cli::new::NewConnector {
                name,
                kind,
                class,
                is_async,
                dir,
                connect_api,
            })
        }
        Command::Plugins { command: PluginsCommand::List { plugin_path, worker_config, json } } => {
            connect_runtime::cli::plugins::list(plugin_path, worker_config, json)
        }
        Command::Plugins { command: PluginsCommand::Install { spec, from_dir, plugin_dir } } => {
            connect_runtime::cli::image::install(spec.as_deref(), from_dir.as_deref(), &plugin_dir)
        }
        Command::Image {
            command:
                ImageCommand::Build {
                    spec,
                    from_dir,
                    outputs,
                    base,
                    connect_binary,
                    plugin_dir,
                    authfile,
                    creds,
                    tls_verify,
                    labels,
                    digestfile,
                },
        } => connect_runtime::cli::image::build(connect_runtime::cli::image::BuildArgs {
            spec,
            from_dir,
            outputs,
            base,
            connect_binary,
            plugin_dir,
            authfile,
            creds,
            tls_verify,
            labels,
            digest_file: digestfile,
        }),
        Command::Entrypoint { config, write, mode, connectors } => {
            use connect_runtime::cli::entrypoint::{run, Mode};
            let mode = if mode == "standalone" { Mode::Standalone } else { Mode::Distributed };
            run(mode, &connectors, config.as_deref(), &write)
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
