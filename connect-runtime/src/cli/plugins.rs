//! `connect plugins list`: what this worker can run, and from where.

use std::path::PathBuf;

use anyhow::Context;

use crate::config::WorkerConfig;
use crate::plugins::PluginRegistry;

/// Lists the plugins found in `plugin_path` (or in the `plugin.path` of `worker_config`), as a table or JSON.
pub fn list(plugin_path: Option<String>, worker_config: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
    let dirs: Vec<PathBuf> = match (plugin_path, worker_config) {
        (Some(dirs), _) => dirs.split(',').map(str::trim).filter(|d| !d.is_empty()).map(PathBuf::from).collect(),
        (None, Some(file)) => WorkerConfig::load(&file)?.plugin_path,
        (None, None) => vec![PathBuf::from("plugins")],
    };
    let registry = PluginRegistry::new(dirs);
    // Connectors first, then transformations and predicates, as `connect-plugin-path list` lists every type.
    let rows: Vec<[String; 4]> = registry
        .plugins()
        .iter()
        .map(|p| {
            [p.class().to_string(), p.kind().as_str().to_string(), p.version().to_string(), p.location().to_string()]
        })
        .chain(registry.transforms().iter().map(|p| {
            [
                p.class().to_string(),
                p.plugin_type().as_str().to_string(),
                p.version().to_string(),
                p.location().to_string(),
            ]
        }))
        .collect();
    if json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|[class, kind, version, location]| {
                serde_json::json!({ "class": class, "type": kind, "version": version, "location": location })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list).context("encoding the plugin list")?);
        return Ok(());
    }
    let header = ["CLASS", "TYPE", "VERSION", "LOCATION"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(rows.iter()) {
        println!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    Ok(())
}
