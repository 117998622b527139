//! `connect new`: a new connector crate from the connector template.
//!
//! The template is `templates/connector` of the repository, in cargo-generate's format (`cargo-generate.toml`,
//! Liquid in file contents, `.liquid` suffixes): the same files serve `cargo generate` and this command. They are
//! embedded in the binary and rendered here with the `liquid` crate and cargo-generate's case filters, so no
//! network and no cargo-generate are needed. Every input is checked before anything is written, and the crate is
//! written into a temporary directory renamed into place at the end: a failure leaves nothing behind.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use heck::{ToKebabCase, ToLowerCamelCase, ToPascalCase, ToShoutySnakeCase, ToSnakeCase, ToTitleCase};
use include_dir::{include_dir, Dir, DirEntry};
use liquid_core::model::{Value as LiquidValue, ValueView};
use liquid_core::parser::{FilterArguments, FilterReflection, ParameterReflection, ParseFilter};
use liquid_core::runtime::Runtime;
use liquid_core::Filter;

/// The connector template, embedded at build time.
static TEMPLATE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../templates/connector");

/// The template's own description file, which is not part of the output.
const TEMPLATE_CONFIG: &str = "cargo-generate.toml";

/// What `connect new` was asked for.
#[derive(Debug, Clone)]
pub struct NewConnector {
    /// The crate name (kebab-case is usual).
    pub name: String,
    /// `source`, `sink` or `transformation`.
    pub kind: String,
    /// The class name users configure; derived from the name when absent.
    pub class: Option<String>,
    /// Async (tokio) tasks.
    pub is_async: bool,
    /// Where to write the crate; `./<name>` when absent.
    pub dir: Option<PathBuf>,
    /// The connect-api crate to depend on; this checkout's when absent and present.
    pub connect_api: Option<PathBuf>,
}

/// The connect-api crate of the checkout this binary was built from, if it is still there.
fn built_in_connect_api() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../connect-api");
    path.join("Cargo.toml").is_file().then(|| path.canonicalize().ok()).flatten()
}

/// Creates the crate and prints what to do next.
pub fn run(request: &NewConnector) -> anyhow::Result<()> {
    let plan = plan(request)?;
    write(&plan)?;
    let lib = format!("lib{}.so", plan.crate_name);
    let flavour = if plan.is_async { " (async)" } else { "" };
    println!("Created the {}{flavour} `{}` in {}", plan.kind, plan.class, plan.dir.display());
    println!();
    println!("  cd {} && cargo test && cargo build --release", plan.dir.display());
    println!("  mkdir -p <plugin.path>/{} && cp target/release/{lib} <plugin.path>/{}/", plan.name, plan.name);
    println!();
    println!("then create the connector (README.md has a configuration to try): the worker finds the new library");
    println!("in plugin.path without a restart.");
    Ok(())
}

/// A checked request: everything needed to render, nothing written yet.
struct Plan {
    name: String,
    crate_name: String,
    kind: String,
    class: String,
    is_async: bool,
    dir: PathBuf,
    connect_api: PathBuf,
}

/// The placeholders of `cargo-generate.toml` this command fills in.
#[derive(serde::Deserialize)]
struct TemplateConfig {
    placeholders: Placeholders,
}

#[derive(serde::Deserialize)]
struct Placeholders {
    kind: Placeholder,
    class: Placeholder,
}

#[derive(serde::Deserialize)]
struct Placeholder {
    #[serde(default)]
    choices: Vec<String>,
    regex: Option<String>,
}

fn template_config() -> anyhow::Result<TemplateConfig> {
    let text = TEMPLATE
        .get_file(TEMPLATE_CONFIG)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| anyhow!("the embedded template has no {TEMPLATE_CONFIG}"))?;
    toml::from_str(text).with_context(|| format!("the embedded template's {TEMPLATE_CONFIG} is unreadable"))
}

/// Names a plugin crate cannot take: Rust's own crates and the crates the template depends on.
const RESERVED_CRATES: &[&str] = &["std", "core", "alloc", "proc_macro", "test", "connect_api", "tokio", "tracing"];

/// Types the generated code imports from connect-api: a connector type of the same name would shadow them.
const API_TYPES: &[&str] = &[
    "AsyncConnector",
    "AsyncSinkConnector",
    "AsyncSinkTask",
    "AsyncSourceConnector",
    "AsyncSourceTask",
    "Config",
    "ConfigDef",
    "ConfigKey",
    "ConfigType",
    "ConnectError",
    "Connector",
    "ConnectorContext",
    "ErrorKind",
    "Field",
    "Header",
    "Headers",
    "Importance",
    "MapEntry",
    "ParsedConfig",
    "Predicate",
    "RecordMetadata",
    "Result",
    "Schema",
    "SchemaBuilder",
    "SchemaType",
    "SinkConnector",
    "SinkRecord",
    "SinkTask",
    "SinkTaskContext",
    "SourceConnector",
    "SourceMap",
    "SourceRecord",
    "SourceTask",
    "SourceTaskContext",
    "Struct",
    "TaskCanceller",
    "TimestampType",
    "TopicPartition",
    "TopicPartitionOffset",
    "TransformRecord",
    "Transformation",
    "Validator",
    "Value",
];

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "gen", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

fn check_name(name: &str) -> anyhow::Result<()> {
    let valid_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let starts_with_letter = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if name.is_empty() || !valid_chars || !starts_with_letter || name.len() > 64 {
        bail!(
            "invalid connector name \"{name}\": use 1 to 64 ASCII letters, digits, '-' or '_', starting with a letter \
             (it becomes the crate name, e.g. my-connector)"
        );
    }
    let crate_name = name.to_snake_case();
    if RESERVED_CRATES.contains(&crate_name.as_str()) || RUST_KEYWORDS.contains(&crate_name.as_str()) {
        bail!("invalid connector name \"{name}\": \"{crate_name}\" is reserved in Rust; choose another name");
    }
    Ok(())
}

/// The class name of a new connector called `name`: `com.example.<Name>` plus `Connector` for connectors.
fn default_class(name: &str, kind: &str) -> String {
    let type_name = name.to_pascal_case();
    let connector = kind != "transformation" && !type_name.ends_with("Connector");
    format!("com.example.{type_name}{}", if connector { "Connector" } else { "" })
}

fn check_class(class: &str, placeholder: &Placeholder) -> anyhow::Result<()> {
    if let Some(pattern) = &placeholder.regex {
        let regex = regex::Regex::new(pattern).context("the template's class pattern is not a valid regex")?;
        if !regex.is_match(class) {
            bail!(
                "invalid class name \"{class}\": use a Java-style class name such as com.example.MyConnector \
                 (dot-separated identifiers)"
            );
        }
    }
    let simple = class.rsplit('.').next().unwrap_or(class);
    let rust_type = simple.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && simple.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !rust_type || RUST_KEYWORDS.contains(&simple) {
        bail!("invalid class name \"{class}\": its last part, \"{simple}\", must also be a Rust type name (no '$')");
    }
    let task = format!("{simple}Task");
    if API_TYPES.contains(&simple) || API_TYPES.contains(&task.as_str()) {
        bail!("invalid class name \"{class}\": \"{simple}\" is a connect-api type name; choose another one");
    }
    Ok(())
}

fn check_connect_api(path: &Path) -> anyhow::Result<PathBuf> {
    let manifest = path.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).with_context(|| {
        format!(
            "--connect-api {}: no Cargo.toml there; give the connect-api directory of a connect-rs checkout",
            path.display()
        )
    })?;
    let is_connect_api = text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("name") && l.split('=').nth(1).is_some_and(|v| v.trim().trim_matches('"') == "connect-api")
    });
    if !is_connect_api {
        bail!("--connect-api {}: {} is not the connect-api crate", path.display(), manifest.display());
    }
    path.canonicalize().with_context(|| format!("--connect-api {}", path.display()))
}

fn plan(request: &NewConnector) -> anyhow::Result<Plan> {
    let config = template_config()?;
    check_name(&request.name)?;
    let kind = request.kind.trim().to_ascii_lowercase();
    if !config.placeholders.kind.choices.contains(&kind) {
        bail!("unknown kind \"{}\": expected one of {}", request.kind, config.placeholders.kind.choices.join(", "));
    }
    let class = request.class.clone().unwrap_or_else(|| default_class(&request.name, &kind));
    check_class(&class, &config.placeholders.class)?;
    let dir = request.dir.clone().unwrap_or_else(|| PathBuf::from(&request.name));
    if let Ok(mut entries) = std::fs::read_dir(&dir) {
        if entries.next().is_some() {
            bail!("{} already exists and is not empty; choose another --dir or name", dir.display());
        }
    } else if dir.exists() {
        bail!("{} exists and is not a directory", dir.display());
    }
    let connect_api = match &request.connect_api {
        Some(path) => check_connect_api(path)?,
        None => built_in_connect_api().ok_or_else(|| {
            anyhow!(
                "cannot find connect-api: pass --connect-api PATH, the connect-api directory of a connect-rs checkout \
                 (connect-api {} is not on a registry)",
                connect_api::abi::API_VERSION
            )
        })?,
    };
    Ok(Plan {
        name: request.name.clone(),
        crate_name: request.name.to_snake_case(),
        kind,
        class,
        is_async: request.is_async,
        dir,
        connect_api,
    })
}

/// The template's files rendered: relative path and content.
fn render(plan: &Plan) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let parser = liquid::ParserBuilder::with_stdlib()
        .filter(CaseFilter::new("kebab_case", |s| s.to_kebab_case()))
        .filter(CaseFilter::new("snake_case", |s| s.to_snake_case()))
        .filter(CaseFilter::new("pascal_case", |s| s.to_pascal_case()))
        .filter(CaseFilter::new("upper_camel_case", |s| s.to_pascal_case()))
        .filter(CaseFilter::new("lower_camel_case", |s| s.to_lower_camel_case()))
        .filter(CaseFilter::new("shouty_snake_case", |s| s.to_shouty_snake_case()))
        .filter(CaseFilter::new("title_case", |s| s.to_title_case()))
        .build()
        .context("setting up the template engine")?;
    let mut globals = liquid::Object::new();
    let mut set = |key: &str, value: LiquidValue| globals.insert(key.to_string().into(), value);
    set("project-name", LiquidValue::scalar(plan.name.clone()));
    set("crate_name", LiquidValue::scalar(plan.crate_name.clone()));
    set("kind", LiquidValue::scalar(plan.kind.clone()));
    set("class", LiquidValue::scalar(plan.class.clone()));
    set("async", LiquidValue::scalar(plan.is_async));
    set("connect_api_path", LiquidValue::scalar(plan.connect_api.display().to_string()));

    let mut files = Vec::new();
    let mut pending: Vec<&Dir<'static>> = vec![&TEMPLATE];
    while let Some(dir) = pending.pop() {
        for entry in dir.entries() {
            match entry {
                DirEntry::Dir(sub) => pending.push(sub),
                DirEntry::File(file) => {
                    let path = file.path();
                    if path == Path::new(TEMPLATE_CONFIG) {
                        continue;
                    }
                    let name = path.to_string_lossy();
                    let name = name.strip_suffix(".liquid").unwrap_or(&name);
                    let rendered_name = parser
                        .parse(name)
                        .and_then(|t| t.render(&globals))
                        .with_context(|| format!("template file name {name}"))?;
                    let contents = match file.contents_utf8() {
                        Some(text) => parser
                            .parse(text)
                            .and_then(|t| t.render(&globals))
                            .with_context(|| format!("template file {}", path.display()))?
                            .into_bytes(),
                        None => file.contents().to_vec(),
                    };
                    files.push((PathBuf::from(rendered_name), contents));
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Renders everything first, writes it into a temporary directory beside the target, then moves it into place.
fn write(plan: &Plan) -> anyhow::Result<()> {
    let files = render(plan)?;
    let target = if plan.dir.is_absolute() { plan.dir.clone() } else { std::env::current_dir()?.join(&plan.dir) };
    let parent = target.parent().ok_or_else(|| anyhow!("{} has no parent directory", target.display()))?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}-", plan.name))
        .tempdir_in(parent)
        .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
    for (path, contents) in &files {
        let out = staging.path().join(path);
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&out, contents).with_context(|| format!("writing {}", out.display()))?;
    }
    if target.exists() {
        // Checked empty in `plan`: make room for the rename.
        std::fs::remove_dir(&target).with_context(|| format!("replacing the empty directory {}", target.display()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, &target).with_context(|| {
        let _ = std::fs::remove_dir_all(&staged);
        format!("moving the new crate to {}", target.display())
    })?;
    Ok(())
}

/// One of cargo-generate's case-changing filters (`{{ project-name | pascal_case }}`).
#[derive(Clone)]
struct CaseFilter {
    name: &'static str,
    convert: fn(&str) -> String,
}

impl CaseFilter {
    fn new(name: &'static str, convert: fn(&str) -> String) -> Self {
        CaseFilter { name, convert }
    }
}

impl FilterReflection for CaseFilter {
    fn name(&self) -> &str {
        self.name
    }

    fn description(&self) -> &str {
        "changes the case of a string as cargo-generate's filter of the same name"
    }

    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }

    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for CaseFilter {
    fn parse(&self, mut arguments: FilterArguments<'_>) -> liquid_core::Result<Box<dyn Filter>> {
        if arguments.positional.next().is_some() || arguments.keyword.next().is_some() {
            return Err(liquid_core::Error::with_msg(format!("{} takes no arguments", self.name)));
        }
        Ok(Box::new(CaseFilterRun(self.clone())))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

struct CaseFilterRun(CaseFilter);

impl std::fmt::Debug for CaseFilterRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name)
    }
}

impl std::fmt::Display for CaseFilterRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Filter for CaseFilterRun {
    fn evaluate(&self, input: &dyn ValueView, _runtime: &dyn Runtime) -> liquid_core::Result<LiquidValue> {
        let text = input.to_kstr();
        Ok(LiquidValue::scalar((self.0.convert)(text.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, kind: &str) -> NewConnector {
        NewConnector {
            name: name.into(),
            kind: kind.into(),
            class: None,
            is_async: false,
            dir: None,
            connect_api: None,
        }
    }

    #[test]
    fn default_classes_follow_the_name_and_kind() {
        assert_eq!(default_class("orders-source", "source"), "com.example.OrdersSourceConnector");
        assert_eq!(default_class("my-connector", "sink"), "com.example.MyConnector");
        assert_eq!(default_class("upper", "transformation"), "com.example.Upper");
    }

    #[test]
    fn bad_names_kinds_and_classes_are_refused_with_the_reason() {
        let err = |r: NewConnector| plan(&r).err().expect("refused").to_string();
        assert!(err(request("1abc", "source")).contains("invalid connector name \"1abc\""));
        assert!(err(request("a b", "source")).contains("invalid connector name"));
        assert!(err(request("std", "source")).contains("reserved"));
        assert!(err(request("ok", "converter"))
            .contains("unknown kind \"converter\": expected one of source, sink, transformation"));
        let mut bad_class = request("ok", "sink");
        bad_class.class = Some("com..Bad".into());
        assert!(err(bad_class.clone()).contains("invalid class name \"com..Bad\""));
        bad_class.class = Some("com.example.Inner$Value".into());
        assert!(err(bad_class.clone()).contains("Rust type name"));
        bad_class.class = Some("com.example.Value".into());
        assert!(err(bad_class).contains("connect-api type name"));
    }

    #[test]
    fn every_kind_renders_its_connector() {
        for kind in ["source", "sink", "transformation"] {
            for is_async in [false, true] {
                let mut r = request("demo-plugin", kind);
                r.is_async = is_async;
                r.connect_api = Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../connect-api")));
                let plan = plan(&r).unwrap();
                let files = render(&plan).unwrap();
                let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
                for expected in ["Cargo.toml", "README.md", "src/lib.rs", ".gitignore"] {
                    assert!(names.iter().any(|n| n == expected), "{kind}: {expected} missing from {names:?}");
                }
                let lib = files.iter().find(|(p, _)| p == Path::new("src/lib.rs")).unwrap();
                let lib = String::from_utf8(lib.1.clone()).unwrap();
                assert!(lib.contains(&plan.class), "{kind}");
                assert!(!lib.contains("{{") && !lib.contains("{%"), "{kind}: unrendered Liquid");
                let cargo = files.iter().find(|(p, _)| p == Path::new("Cargo.toml")).unwrap();
                let cargo = String::from_utf8(cargo.1.clone()).unwrap();
                assert!(cargo.contains("name = \"demo-plugin\""), "{cargo}");
                assert_eq!(cargo.contains("\"async\""), is_async, "{cargo}");
            }
        }
    }
}
