//! connect-rs's own worker image, built without a distribution: the `connect` binary, the shared libraries it
//! links (as `ldd` resolves them on this machine, the dynamic loader included), CA certificates, `/etc/passwd` and
//! `/etc/group` with the unprivileged user 1001 (group 0, as OpenShift runs arbitrary users), and an entrypoint
//! that configures the worker from files and `CONNECT_*` variables. Two layers: the system files, then the binary,
//! so a new binary reuses the first layer. Nothing of the host but those files ends up in the image.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{ImageError, Result};
use crate::image::{history, BaseImage, LayerRef};
use crate::layer::{parents, BlobStore, Entry};

/// Where the image's plugin directory is, unless told otherwise.
pub const DEFAULT_PLUGIN_DIR: &str = "/opt/connect/plugins";
/// The CA bundle in the image (`SSL_CERT_FILE`).
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The unprivileged user the worker runs as (Strimzi's).
pub const USER: u64 = 1001;

/// Builds the base image from `binary` into `store`.
pub fn own_base(store: &BlobStore, binary: &Path, plugin_dir: &str, created: &str) -> Result<BaseImage> {
    let base_err = |reason: String| ImageError::Base { base: format!("connect-rs ({})", binary.display()), reason };
    if !binary.is_file() {
        return Err(base_err("the connect binary does not exist".into()));
    }
    let libraries = needed_libraries(binary).map_err(base_err)?;
    let mut system = system_entries(plugin_dir)?;
    system.extend(library_entries(&libraries));
    let system_layer = store.layer(&mut system)?;
    let mut program = parents("usr/bin/connect");
    program.push(Entry::file("usr/bin/connect", binary, 0o755));
    let program_layer = store.layer(&mut program)?;

    let mut env =
        vec!["PATH=/usr/bin".to_string(), format!("SSL_CERT_FILE={CA_BUNDLE}"), "HOME=/home/connect".to_string()];
    if plugin_dir != DEFAULT_PLUGIN_DIR {
        env.push(format!("CONNECT_PLUGIN_PATH={plugin_dir}"));
    }
    let labels: BTreeMap<&str, String> = [
        ("org.opencontainers.image.title", "connect-rs".to_string()),
        ("org.opencontainers.image.description", "Kafka Connect-compatible worker in Rust".to_string()),
        ("org.opencontainers.image.version", env!("CARGO_PKG_VERSION").to_string()),
        ("org.opencontainers.image.licenses", "Apache-2.0".to_string()),
        ("io.connect-rs.plugin.path", plugin_dir.to_string()),
    ]
    .into_iter()
    .collect();
    let config = json!({
        "created": created,
        "architecture": architecture(),
        "os": "linux",
        "config": {
            "User": USER.to_string(),
            "Env": env,
            "Entrypoint": ["/usr/bin/connect", "entrypoint"],
            "Cmd": ["distributed"],
            "WorkingDir": "/opt/connect",
            "ExposedPorts": {"8083/tcp": {}},
            "Labels": labels,
            "StopSignal": "SIGTERM",
        },
        "rootfs": {"type": "layers", "diff_ids": [system_layer.diff_id, program_layer.diff_id]},
        "history": [
            history(created, "connect image build: libraries, CA certificates, users (no distribution)"),
            history(created, "connect image build: /usr/bin/connect"),
        ],
    });
    Ok(BaseImage {
        name: "connect-rs".into(),
        manifest_digest: None,
        config,
        layers: vec![LayerRef::from_layer(&system_layer), LayerRef::from_layer(&program_layer)],
        own: true,
    })
}

/// The OCI name of this machine's architecture.
pub fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The libraries `binary` loads, as `ldd` resolves them: (path `ldd` names, file on this machine).
pub fn needed_libraries(binary: &Path) -> std::result::Result<Vec<(String, PathBuf)>, String> {
    let output = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| format!("cannot run ldd to find the shared libraries it needs ({e}); install libc-bin"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        // A static binary needs nothing.
        if text.contains("not a dynamic executable") || errors.contains("not a dynamic executable") {
            return Ok(Vec::new());
        }
        return Err(format!("ldd failed: {}", errors.trim()));
    }
    parse_ldd(&text)
}

fn parse_ldd(text: &str) -> std::result::Result<Vec<(String, PathBuf)>, String> {
    let mut found = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.contains("statically linked") {
            continue;
        }
        let path = match line.split_once("=>") {
            Some((name, rest)) => {
                let rest = rest.trim();
                if rest.starts_with("not found") {
                    return Err(format!("it needs {}, which is not found on this machine", name.trim()));
                }
                rest.split(" (").next().unwrap_or("").trim()
            }
            None => line.split(" (").next().unwrap_or("").trim(),
        };
        // The vDSO has no file.
        if path.starts_with('/') {
            found.push((path.to_string(), PathBuf::from(path)));
        }
    }
    Ok(found)
}

/// Layer entries for libraries: the real file (symbolic links resolved) under the path the loader asks for,
/// moved under `usr/` with `lib`, `lib64` and `bin` linking there, as merged-/usr systems lay them out.
pub fn library_entries(libraries: &[(String, PathBuf)]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (wanted, file) in libraries {
        let path = image_path(wanted);
        let source = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        entries.extend(parents(&path));
        entries.push(Entry::file(&path, &source, 0o755));
    }
    entries
}

fn image_path(wanted: &str) -> String {
    let wanted = wanted.trim_start_matches('/');
    for top in ["lib/", "lib64/", "lib32/", "bin/", "sbin/"] {
        if wanted.starts_with(top) {
            return format!("usr/{wanted}");
        }
    }
    wanted.to_string()
}

fn system_entries(plugin_dir: &str) -> Result<Vec<Entry>> {
    let mut entries = vec![
        Entry::dir("usr", 0o755),
        Entry::dir("usr/lib", 0o755),
        Entry::dir("usr/lib64", 0o755),
        Entry::dir("usr/bin", 0o755),
        Entry::symlink("lib", "usr/lib"),
        Entry::symlink("lib64", "usr/lib64"),
        Entry::symlink("bin", "usr/bin"),
        Entry::dir("etc", 0o755),
        Entry::bytes(
            "etc/passwd",
            format!("root:x:0:0:root:/root:/sbin/nologin\nconnect:x:{USER}:0:connect-rs worker:/home/connect:/sbin/nologin\n"),
            0o644,
        ),
        Entry::bytes("etc/group", format!("root:x:0:\nconnect:x:{USER}:\n"), 0o644),
        Entry::bytes("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n", 0o644),
        Entry::dir("root", 0o700),
        Entry::dir("tmp", 0o1777),
        Entry::dir("home", 0o755),
        Entry::dir("home/connect", 0o755).owned_by(USER),
        Entry::dir("opt", 0o755),
        Entry::dir("opt/connect", 0o755),
        Entry::dir("opt/connect/config", 0o755),
        // Standalone offsets and anything else the worker writes, for user 1001 and OpenShift's group 0.
        Entry::dir("var", 0o755),
        Entry::dir("var/lib", 0o755),
        Entry::dir("var/lib/connect", 0o775).owned_by(USER),
    ];
    entries.extend(parents(plugin_dir));
    entries.push(Entry::dir(plugin_dir, 0o755));
    entries.extend(parents(CA_BUNDLE));
    entries.push(Entry::bytes(CA_BUNDLE, ca_bundle(), 0o644));
    Ok(entries)
}

/// The machine's CA certificates as one PEM bundle.
fn ca_bundle() -> Vec<u8> {
    for file in ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"] {
        if let Ok(bytes) = std::fs::read(file) {
            return bytes;
        }
    }
    use base64::Engine;
    let mut pem = String::new();
    for cert in rustls_native_certs::load_native_certs().certs {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let encoded = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        for chunk in encoded.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    if pem.is_empty() {
        tracing::warn!("no CA certificates found on this machine: the image will trust none");
    }
    pem.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_the_files_to_copy() {
        let text = "\tlinux-vdso.so.1 (0x00007ffc)\n\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        let libs = parse_ldd(text).unwrap();
        let paths: Vec<&str> = libs.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
        );
        assert_eq!(image_path("/lib64/ld-linux-x86-64.so.2"), "usr/lib64/ld-linux-x86-64.so.2");
        assert_eq!(image_path("/usr/lib/x86_64-linux-gnu/libz.so.1"), "usr/lib/x86_64-linux-gnu/libz.so.1");
        let err = parse_ldd("\tlibssl.so.3 => not found\n").unwrap_err();
        assert_eq!(err, "it needs libssl.so.3, which is not found on this machine");
    }

    #[test]
    fn the_test_binary_itself_resolves_to_existing_files() {
        let me = std::env::current_exe().unwrap();
        let libs = needed_libraries(&me).unwrap();
        assert!(libs.iter().any(|(p, _)| p.contains("libc.so")), "{libs:?}");
        assert!(libs.iter().all(|(_, f)| f.exists()));
    }
}
