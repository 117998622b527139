//! kafka_exporter's command line, for `connect exporter`: the same flags and defaults, parsed as kingpin does
//! (`--name=value` or `--name value`; booleans as `--name`, `--no-name` or `--name=true|false`; `--kafka.server`
//! repeatable), turned into the connector's configuration (whose keys are the flag names).
//!
//! Parsing only reads the arguments (and `SASL_USER_PASSWORD`, as kafka_exporter does); it never touches Kafka.
//! An unknown flag or a bad value is an error naming the flag; a flag for a feature we do not have is refused by
//! the configuration with "not supported".

use connect_api::Config;

/// How a flag is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    Int,
    /// Repeatable; the values are joined with commas.
    Repeated,
}

/// Where a flag's value goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// The connector key of the same name.
    Key,
    /// Logging of this process.
    Log,
    /// Accepted and without effect here, for the reason given.
    Ignored(&'static str),
    /// Refused when given a value, for the reason given.
    Refused(&'static str),
}

struct Flag {
    name: &'static str,
    kind: Kind,
    default: &'static str,
    help: &'static str,
    target: Target,
}

const fn flag(name: &'static str, kind: Kind, default: &'static str, help: &'static str) -> Flag {
    Flag { name, kind, default, help, target: Target::Key }
}

const SERVER_TLS: &str = "HTTPS for the metrics endpoint is not supported: put a TLS-terminating proxy in front";

/// kafka_exporter's flags (kafka_exporter.go `main`, v1.9/v1.10), plus `--scrape.timeout`.
const FLAGS: &[Flag] = &[
    flag("web.listen-address", Kind::Text, ":9308", "Address to listen on for web interface and telemetry."),
    flag("web.telemetry-path", Kind::Text, "/metrics", "Path under which to expose metrics."),
    flag("topic.filter", Kind::Text, ".*", "Regex that determines which topics to collect."),
    flag("topic.exclude", Kind::Text, "^$", "Regex that determines which topics to exclude."),
    flag("group.filter", Kind::Text, ".*", "Regex that determines which consumer groups to collect."),
    flag("group.exclude", Kind::Text, "^$", "Regex that determines which consumer groups to exclude."),
    Flag {
        target: Target::Log,
        ..flag("log.enable-sarama", Kind::Bool, "false", "Log the Kafka client's requests (debug).")
    },
    flag("kafka.server", Kind::Repeated, "kafka:9092", "Address (host:port) of Kafka server."),
    flag("sasl.enabled", Kind::Bool, "false", "Connect using SASL/PLAIN, default is false."),
    flag(
        "sasl.handshake",
        Kind::Bool,
        "true",
        "Only set this to false if using a non-Kafka SASL proxy (not supported).",
    ),
    flag("sasl.username", Kind::Text, "", "SASL user name."),
    flag("sasl.password", Kind::Text, "", "SASL user password (default: $SASL_USER_PASSWORD)."),
    flag("sasl.mechanism", Kind::Text, "", "The SASL mechanism: plain, scram-sha256 or scram-sha512."),
    flag("sasl.service-name", Kind::Text, "", "Service name when using kerberos Auth (not supported)."),
    flag("sasl.kerberos-config-path", Kind::Text, "", "Kerberos config path (not supported)."),
    flag("sasl.realm", Kind::Text, "", "Kerberos realm (not supported)."),
    flag("sasl.kerberos-auth-type", Kind::Text, "", "Kerberos auth type (not supported)."),
    flag("sasl.keytab-path", Kind::Text, "", "Kerberos keytab file path (not supported)."),
    flag("sasl.disable-PA-FX-FAST", Kind::Bool, "false", "Kerberos PA_FX_FAST (not supported)."),
    flag("sasl.aws-region", Kind::Text, "", "AWS region for awsiam (not supported)."),
    flag("sasl.oauthbearer-token-url", Kind::Text, "", "OAuth token URL for oauthbearer (not supported)."),
    flag("tls.enabled", Kind::Bool, "false", "Connect to Kafka using TLS, default is false."),
    flag("tls.server-name", Kind::Text, "", "Used to verify the hostname on the returned certificates."),
    flag("tls.ca-file", Kind::Text, "", "The optional certificate authority file for Kafka TLS client authentication."),
    flag("tls.cert-file", Kind::Text, "", "The optional certificate file for Kafka client authentication."),
    flag("tls.key-file", Kind::Text, "", "The optional key file for Kafka client authentication."),
    flag("server.tls.enabled", Kind::Bool, "false", "Enable TLS for web server (not supported)."),
    flag(
        "server.tls.mutual-auth-enabled",
        Kind::Bool,
        "false",
        "Enable TLS client mutual authentication (not supported).",
    ),
    Flag { target: Target::Refused(SERVER_TLS), ..flag("server.tls.ca-file", Kind::Text, "", "Not supported.") },
    Flag { target: Target::Refused(SERVER_TLS), ..flag("server.tls.cert-file", Kind::Text, "", "Not supported.") },
    Flag { target: Target::Refused(SERVER_TLS), ..flag("server.tls.key-file", Kind::Text, "", "Not supported.") },
    flag("tls.insecure-skip-tls-verify", Kind::Bool, "false", "If true, the server's certificate will not be checked."),
    flag("kafka.version", Kind::Text, "2.0.0", "Kafka broker version (accepted; versions are negotiated)."),
    flag("use.consumelag.zookeeper", Kind::Bool, "false", "Lag from ZooKeeper (not supported)."),
    Flag {
        target: Target::Ignored("ZooKeeper lag is not supported, so no ZooKeeper is contacted"),
        ..flag("zookeeper.server", Kind::Repeated, "localhost:2181", "Address (hosts) of zookeeper server.")
    },
    flag("kafka.labels", Kind::Text, "", "Kafka cluster name (labels k=v,k2=v2 added to every series)."),
    flag("refresh.metadata", Kind::Text, "30s", "Metadata refresh interval."),
    flag("offset.show-all", Kind::Bool, "true", "Whether show the offset/lag for all consumer group."),
    flag("concurrent.enable", Kind::Bool, "false", "If true, all scrapes will trigger kafka operations."),
    flag("topic.workers", Kind::Int, "100", "Number of topic workers (ListOffsets requests in flight)."),
    flag("group.workers", Kind::Int, "100", "Number of consumer group workers (group requests in flight)."),
    Flag {
        target: Target::Ignored("every collection is bounded by --scrape.timeout"),
        ..flag("group.metrics.timeout", Kind::Text, "5m", "Timeout of the consumer group metrics.")
    },
    flag("kafka.allow-auto-topic-creation", Kind::Bool, "false", "If true, the broker may auto-create topics."),
    Flag {
        target: Target::Log,
        ..flag("verbosity", Kind::Int, "0", "Verbosity log level (0 info, 1 debug, 2 trace).")
    },
    Flag {
        target: Target::Log,
        ..flag("log.level", Kind::Text, "info", "Only log messages with the given severity or above.")
    },
    Flag { target: Target::Log, ..flag("log.format", Kind::Text, "logfmt", "Output format of log messages (logfmt).") },
    flag("scrape.timeout", Kind::Text, "10s", "connect-rs: answer a scrape with what was collected after this long."),
];

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the exporter.
    Run(Flags),
    /// Print this text and exit 0.
    Help(String),
    /// Print this version and exit 0.
    Version(String),
}

/// A parsed command line.
#[derive(Debug, Default)]
pub struct Flags {
    /// The connector configuration.
    pub config: Config,
    /// Log directives (`tracing` target or `root`, level) from `--verbosity`, `--log.level`, `--log.enable-sarama`.
    pub log_levels: Vec<(String, String)>,
    /// Flags accepted without effect, to be logged.
    pub notes: Vec<String>,
}

fn find(name: &str) -> Option<&'static Flag> {
    FLAGS.iter().find(|f| f.name == name)
}

/// Parses kafka_exporter's arguments (without the program and subcommand names).
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut values: Vec<(&'static Flag, String)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        match arg.as_str() {
            "-h" | "--help" | "--help-long" | "--help-man" => return Ok(Command::Help(usage())),
            "--version" => {
                return Ok(Command::Version(format!("kafka_exporter (connect-rs {})", env!("CARGO_PKG_VERSION"))))
            }
            _ => {}
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument {arg:?}: kafka_exporter takes flags only (--name=value)"));
        };
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (body, None),
        };
        let (flag, value) = match find(name) {
            Some(flag) if flag.kind == Kind::Bool => {
                let value = match inline {
                    None => "true".to_string(),
                    Some(v) => {
                        parse_bool(&v).ok_or_else(|| format!("--{name}: {v:?} is not true or false"))?.to_string()
                    }
                };
                (flag, value)
            }
            Some(flag) => {
                let value = match inline {
                    Some(v) => v,
                    None if i < args.len() => {
                        i += 1;
                        args[i - 1].clone()
                    }
                    None => return Err(format!("--{name}: expected a value")),
                };
                if flag.kind == Kind::Int && value.trim().parse::<i64>().is_err() {
                    return Err(format!("--{name}: {value:?} is not a number"));
                }
                (flag, value)
            }
            None => match name.strip_prefix("no-").and_then(find).filter(|f| f.kind == Kind::Bool) {
                Some(flag) if inline.is_none() => (flag, "false".to_string()),
                Some(_) => return Err(format!("--{name} takes no value")),
                None => return Err(format!("unknown long flag '--{name}', try --help")),
            },
        };
        if flag.kind != Kind::Repeated && values.iter().any(|(f, _)| f.name == flag.name) {
            return Err(format!("flag '--{}' cannot be repeated", flag.name));
        }
        values.push((flag, value));
    }
    build(values).map(Command::Run)
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "t" => Some(true),
        "false" | "0" | "f" => Some(false),
        _ => None,
    }
}

fn build(values: Vec<(&'static Flag, String)>) -> Result<Flags, String> {
    let mut flags = Flags::default();
    let given = |name: &str| values.iter().filter(|(f, _)| f.name == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
    for flag in FLAGS {
        let set = given(flag.name);
        match flag.target {
            Target::Key => {
                let value = match (flag.kind, set.is_empty()) {
                    (_, true) if flag.name == "kafka.server" => flag.default.to_string(),
                    (_, true) => continue,
                    (Kind::Repeated, false) => set.join(","),
                    (_, false) => set[0].to_string(),
                };
                flags.config.insert(flag.name.to_string(), value);
            }
            Target::Ignored(why) if !set.is_empty() => {
                flags.notes.push(format!("--{} has no effect: {why}", flag.name))
            }
            Target::Refused(why) if set.iter().any(|v| !v.is_empty()) => {
                return Err(format!("--{}: not supported: {why}", flag.name))
            }
            Target::Log => {}
            _ => {}
        }
    }
    if flags.config.get("sasl.password").is_none_or(|p| p.is_empty()) {
        if let Ok(password) = std::env::var("SASL_USER_PASSWORD") {
            flags.config.insert("sasl.password".into(), password);
        }
    }
    let one = |name: &str| given(name).first().map(|v| v.to_string());
    if let Some(level) = one("log.level") {
        let level = level.trim().to_ascii_lowercase();
        if !matches!(level.as_str(), "debug" | "info" | "warn" | "error") {
            return Err(format!("--log.level: {level:?} is not one of debug, info, warn, error"));
        }
        flags.log_levels.push(("root".into(), level));
    }
    if let Some(format) = one("log.format") {
        if format.trim() != "logfmt" {
            return Err(format!("--log.format: not supported: only logfmt-like text logs are written ({format:?})"));
        }
    }
    let verbosity: i64 = one("verbosity").map(|v| v.trim().parse().unwrap_or(0)).unwrap_or(0);
    match verbosity {
        v if v >= 2 => flags.log_levels.push(("connect_exporter".into(), "trace".into())),
        1 => flags.log_levels.push(("connect_exporter".into(), "debug".into())),
        _ => {}
    }
    if one("log.enable-sarama").as_deref() == Some("true") {
        flags.log_levels.push(("connect_exporter::kafka".into(), "debug".into()));
    }
    Ok(flags)
}

/// The `--help` text.
pub fn usage() -> String {
    let mut text = String::from(
        "usage: connect exporter [<flags>]\n\nkafka_exporter's metrics of a Kafka cluster (connect-rs).\n\nFlags:\n  \
         -h, --help  Show context-sensitive help.\n",
    );
    for flag in FLAGS {
        let value = match flag.kind {
            Kind::Bool => String::new(),
            Kind::Int => format!("={}", flag.default),
            _ => format!("=\"{}\"", flag.default),
        };
        let prefix = if flag.kind == Kind::Bool { "[no-]" } else { "" };
        let repeat = if flag.kind == Kind::Repeated { " ..." } else { "" };
        text.push_str(&format!("  --{prefix}{}{value}{repeat}\n        {}\n", flag.name, flag.help));
    }
    text.push_str("      --version  Show application version.\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Flags {
        match parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>()).unwrap() {
            Command::Run(flags) => flags,
            other => panic!("{other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>()).unwrap_err()
    }

    #[test]
    fn defaults_are_kafka_exporter_s() {
        let flags = run(&[]);
        assert_eq!(flags.config, Config::from([("kafka.server".to_string(), "kafka:9092".to_string())]));
        let config = crate::ExporterConfig::parse(&flags.config).unwrap();
        assert_eq!(config.listen.port, 9308);
        assert!(config.offset_show_all);
    }

    #[test]
    fn kingpin_forms() {
        let flags = run(&[
            "--kafka.server=a:9092",
            "--kafka.server",
            "b:9092",
            "--web.listen-address=:9404",
            "--offset.show-all",
            "--no-concurrent.enable",
            "--tls.enabled=true",
            "--topic.filter",
            "orders.*",
            "--topic.workers=4",
        ]);
        let get = |k: &str| flags.config.get(k).cloned().unwrap_or_default();
        assert_eq!(get("kafka.server"), "a:9092,b:9092");
        assert_eq!(get("web.listen-address"), ":9404");
        assert_eq!(get("offset.show-all"), "true");
        assert_eq!(get("concurrent.enable"), "false");
        assert_eq!(get("tls.enabled"), "true");
        assert_eq!(get("topic.filter"), "orders.*");
        assert_eq!(get("topic.workers"), "4");
    }

    #[test]
    fn strimzi_s_command_line_is_accepted() {
        let flags = run(&[
            "--group.filter=.*",
            "--topic.filter=.*",
            "--kafka.server=my-cluster-kafka-bootstrap:9091",
            "--web.listen-address=:9404",
            "--offset.show-all",
            "--verbosity=0",
            "--kafka.version=3.9.0",
            "--log.enable-sarama",
        ]);
        assert_eq!(flags.config["kafka.version"], "3.9.0");
        assert_eq!(flags.log_levels, vec![("connect_exporter::kafka".to_string(), "debug".to_string())]);
    }

    #[test]
    fn logging_flags() {
        assert_eq!(run(&["--verbosity=2"]).log_levels, vec![("connect_exporter".into(), "trace".into())]);
        assert_eq!(run(&["--log.level=warn"]).log_levels, vec![("root".into(), "warn".into())]);
        assert!(error(&["--log.level=loud"]).contains("--log.level"));
        assert!(error(&["--log.format=json"]).contains("not supported"));
    }

    #[test]
    fn bad_flags_are_named() {
        assert_eq!(error(&["--kafka.servers=a:1"]), "unknown long flag '--kafka.servers', try --help");
        assert!(error(&["kafka:9092"]).contains("unexpected argument"));
        assert!(error(&["--topic.workers=many"]).contains("--topic.workers"));
        assert!(error(&["--offset.show-all=maybe"]).contains("--offset.show-all"));
        assert!(error(&["--topic.filter"]).contains("expected a value"));
        assert!(error(&["--topic.filter=a", "--topic.filter=b"]).contains("cannot be repeated"));
        assert!(error(&["--no-topic.filter"]).contains("unknown long flag"));
        assert!(error(&["--server.tls.cert-file=/c.pem"]).contains("not supported"));
    }

    #[test]
    fn unsupported_features_reach_the_config_check() {
        for args in [
            &["--use.consumelag.zookeeper"][..],
            &["--server.tls.enabled"],
            &["--sasl.enabled", "--sasl.mechanism=gssapi"],
            &["--no-sasl.handshake"],
            &["--sasl.kerberos-auth-type=keytabAuth"],
        ] {
            let flags = run(args);
            let err = crate::ExporterConfig::parse(&flags.config).unwrap_err().to_string();
            assert!(err.contains("not supported"), "{args:?}: {err}");
        }
        let flags = run(&["--zookeeper.server=zk:2181"]);
        assert_eq!(flags.notes.len(), 1);
        assert!(crate::ExporterConfig::parse(&flags.config).is_ok());
    }

    #[test]
    fn help_and_version() {
        let help = |a: &str| matches!(parse(&[a.to_string()]), Ok(Command::Help(_)));
        assert!(help("--help") && help("-h"));
        let Ok(Command::Help(text)) = parse(&["--help".to_string()]) else { panic!() };
        assert!(text.contains("--web.listen-address=\":9308\"") && text.contains("--[no-]offset.show-all"), "{text}");
        assert!(matches!(parse(&["--version".to_string()]), Ok(Command::Version(_))));
    }
}
