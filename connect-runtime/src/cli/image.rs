//! `connect image build` and `connect plugins install`: turn flags into a [`connect_image::BuildOptions`] (or a
//! plugin list) and report what was written. The work itself is in the `connect-image` crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use connect_image::{BaseRef, BuildOptions, BuildSpec, Output, PushOptions};

/// The flags of `connect image build`.
#[derive(Debug, Clone, Default)]
pub struct BuildArgs {
    /// The spec file.
    pub spec: Option<PathBuf>,
    /// A directory of plugins instead of a spec.
    pub from_dir: Option<PathBuf>,
    /// Outputs (`oci:DIR[:NAME]`, `oci-archive:FILE[:NAME]`, `docker://REF`); the spec's when none.
    pub outputs: Vec<String>,
    /// The base image (the spec's `image`, else connect-rs's own).
    pub base: Option<String>,
    /// The `connect` binary for the own base.
    pub connect_binary: Option<PathBuf>,
    /// The plugin directory in the image.
    pub plugin_dir: String,
    /// Registry auth file.
    pub authfile: Option<PathBuf>,
    /// Registry `USER:PASSWORD`.
    pub creds: Option<String>,
    /// `false`: skip TLS verification, allow plain HTTP.
    pub tls_verify: Option<bool>,
    /// `KEY=VALUE` labels.
    pub labels: Vec<String>,
    /// Write the manifest digest here.
    pub digest_file: Option<PathBuf>,
}

/// Builds the image and prints its digest and outputs.
pub fn build(args: BuildArgs) -> anyhow::Result<()> {
    let (plugins, spec_base, spec_output, mut registry) = match (&args.spec, &args.from_dir) {
        (Some(_), Some(_)) => bail!("give either a build spec or --from-dir, not both"),
        (None, None) => bail!("give a build spec (YAML or JSON with Strimzi's spec.build) or --from-dir DIR"),
        (Some(file), None) => {
            let spec = BuildSpec::load(file)?;
            (spec.plugins, spec.base, spec.output, spec.push)
        }
        (None, Some(dir)) => (connect_image::plugins_from_dir(dir)?, None, None, PushOptions::default()),
    };
    let outputs = if args.outputs.is_empty() {
        spec_output.into_iter().collect()
    } else {
        args.outputs
            .iter()
            .map(|o| Output::parse(o).map_err(|m| anyhow::anyhow!("--output {o}: {m}")))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let base = match &args.base {
        Some(text) => BaseRef::parse(text).map_err(|m| anyhow::anyhow!("--base {text}: {m}"))?,
        None => spec_base.unwrap_or(BaseRef::Own),
    };
    if args.authfile.is_some() {
        registry.authfile = args.authfile.clone();
    }
    if args.creds.is_some() {
        registry.creds = args.creds.clone();
    }
    if args.tls_verify.is_some() {
        registry.tls_verify = args.tls_verify;
    }
    let mut labels = BTreeMap::new();
    for label in &args.labels {
        let (key, value) = label.split_once('=').with_context(|| format!("--label {label}: must be KEY=VALUE"))?;
        labels.insert(key.trim().to_string(), value.to_string());
    }
    let options = BuildOptions {
        plugins,
        base,
        outputs,
        registry,
        connect_binary: args.connect_binary.clone(),
        plugin_dir: args.plugin_dir.clone(),
        labels,
    };
    let result = connect_image::build(&options)?;
    if let Some(file) = &args.digest_file {
        std::fs::write(file, &result.manifest_digest).with_context(|| format!("cannot write {}", file.display()))?;
    }
    for output in &result.outputs {
        println!("wrote {output}");
    }
    println!(
        "image {} ({} layers, {:.1} MiB, config {})",
        result.manifest_digest,
        result.layers,
        result.size as f64 / (1024.0 * 1024.0),
        result.config_digest
    );
    Ok(())
}

/// Lays the plugins of a spec or a directory out in a local plugin directory.
pub fn install(spec: Option<&Path>, from_dir: Option<&Path>, plugin_dir: &Path) -> anyhow::Result<()> {
    let plugins = match (spec, from_dir) {
        (Some(_), Some(_)) => bail!("give either a build spec or --from-dir, not both"),
        (None, None) => bail!("give a build spec or --from-dir DIR"),
        (Some(file), None) => BuildSpec::load(file)?.plugins,
        (None, Some(dir)) => connect_image::plugins_from_dir(dir)?,
    };
    for name in connect_image::install(&plugins, plugin_dir)? {
        println!("installed {}", plugin_dir.join(name).display());
    }
    Ok(())
}
