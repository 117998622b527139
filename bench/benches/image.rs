//! Image builds: `connect image build` of the worker plus the file plugin, against the same plugin built Strimzi's
//! way, in the same run.
//!
//! connect-rs: the release `connect` builds an OCI layout from a spec naming the file plugin's `.so` served over
//! HTTP on 127.0.0.1 with its sha512 (its own base made from the binary, one plugin layer). Timed end to end (process
//! start, download, check, layers, gzip, layout written and renamed into place); the size is the sum of the blobs
//! (what a registry stores and a pull downloads) and of the uncompressed layers.
//!
//! Strimzi: the Dockerfile its operator generates for the same artifact (`type: other`, as Strimzi has no `so`),
//! with its `RUN` step (mkdir, `curl -f -L`, `sha512sum -c`, rm) run here in bash against the same server, under a
//! scratch directory standing for `/opt/kafka/plugins`. The other steps need a registry and a builder: pulling the
//! base (`quay.io/strimzi/kafka`), Kaniko's or Buildah's snapshot of the file system, and the push; they cannot
//! run here, and the README gives Strimzi's published figures for them.
//!
//! Best and median of `ROUNDS`; prints a Markdown table.

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use connect_tests::image::FileServer;
use connect_tests::tools;

const ROUNDS: usize = 5;

fn main() {
    let work = tempfile::tempdir().expect("temp dir");
    let root = work.path();
    let served = root.join("served");
    std::fs::create_dir_all(&served).unwrap();
    let so = tools::library("connect_file");
    std::fs::copy(&so, served.join("libconnect_file.so")).unwrap();
    let server = FileServer::start(&served);
    let url = server.url("libconnect_file.so");
    let sum = connect_image::fetch::sha512_of(&so).unwrap();
    let spec = root.join("build.yaml");
    std::fs::write(
        &spec,
        format!("plugins:\n  - name: file\n    artifacts:\n      - type: so\n        url: {url}\n        sha512sum: {sum}\n"),
    )
    .unwrap();

    let (ours, size) = time_builds(root, "release", &spec, &[]);
    // The release profile keeps line tables (for panic traces); without them, as `objcopy --strip-debug` leaves the
    // binary and the plugin.
    let stripped = Command::new("objcopy").arg("--version").output().is_ok_and(|o| o.status.success()).then(|| {
        let binary = root.join("connect-stripped");
        let library = served.join("libconnect_file-stripped.so");
        for (from, to) in [(tools::connect_binary(), &binary), (so.clone(), &library)] {
            let status = Command::new("objcopy").arg("--strip-debug").arg(&from).arg(to).status().expect("objcopy");
            assert!(status.success(), "objcopy --strip-debug {}", from.display());
        }
        let sum = connect_image::fetch::sha512_of(&library).unwrap();
        let spec = root.join("build-stripped.yaml");
        std::fs::write(
            &spec,
            format!(
                "plugins:\n  - name: file\n    artifacts:\n      - type: so\n        url: {}\n        fileName: libconnect_file.so\n        sha512sum: {sum}\n",
                server.url("libconnect_file-stripped.so")
            ),
        )
        .unwrap();
        time_builds(root, "stripped", &spec, &["--connect-binary".into(), binary.display().to_string()])
    });

    let dockerfile = strimzi_dockerfile(&url, &sum);
    let step =
        dockerfile.lines().find(|l| l.starts_with("RUN ")).expect("a RUN step").trim_start_matches("RUN ").to_string();
    let mut strimzi = Vec::new();
    for round in 0..ROUNDS {
        let plugins = root.join(format!("strimzi-{round}/opt/kafka/plugins"));
        let script = step.replace("/opt/kafka/plugins", &plugins.display().to_string());
        let start = Instant::now();
        let status = Command::new("bash").arg("-c").arg(&script).output().expect("run bash");
        strimzi.push(start.elapsed());
        assert!(status.status.success(), "{script}\n{}", String::from_utf8_lossy(&status.stderr));
    }

    println!("Generated Dockerfile (Strimzi's KafkaConnectDockerfile for the same artifact):\n\n{dockerfile}");
    println!("| build | best | median | image size (compressed blobs) | uncompressed layers | layers |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| `connect image build` (worker + file plugin, whole build) | {} | {} | {:.1} MiB | {:.1} MiB | {} |",
        ms(best(&ours)),
        ms(median(&ours)),
        mib(size.0),
        mib(size.1),
        size.2
    );
    if let Some((times, size)) = stripped {
        println!(
            "| the same, binary and plugin without debug line tables (`objcopy --strip-debug`) | {} | {} | {:.1} MiB | {:.1} MiB | {} |",
            ms(best(&times)),
            ms(median(&times)),
            mib(size.0),
            mib(size.1),
            size.2
        );
    }
    println!(
        "| Strimzi's RUN step for the same artifact (no base pull, snapshot or push) | {} | {} | base image + {:.1} MiB | | base + 1 |",
        ms(best(&strimzi)),
        ms(median(&strimzi)),
        mib(std::fs::metadata(&so).unwrap().len())
    );
    drop(server);
}

/// `ROUNDS` builds of `spec` into fresh layouts: their times, and the last image's sizes.
fn time_builds(root: &Path, name: &str, spec: &Path, extra: &[String]) -> (Vec<Duration>, (u64, u64, usize)) {
    let mut times = Vec::new();
    let mut size = (0, 0, 0);
    for round in 0..ROUNDS {
        let out = root.join(format!("out-{name}-{round}"));
        let start = Instant::now();
        let status = Command::new(tools::connect_binary())
            .args(["image", "build"])
            .arg(spec)
            .arg("--output")
            .arg(format!("oci:{}", out.display()))
            .args(extra)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run connect image build");
        times.push(start.elapsed());
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        size = layout_size(&out);
    }
    (times, size)
}

/// What Strimzi's operator writes for one plugin `file` with one `other` artifact (KafkaConnectDockerfile).
fn strimzi_dockerfile(url: &str, sum: &str) -> String {
    let hash = hash_stub(url);
    let dir = format!("/opt/kafka/plugins/file/{hash}");
    let file = format!("{dir}/libconnect_file.so");
    format!(
        "##############################\n# This file is automatically generated by the Strimzi Cluster Operator\n# Any changes to this file will be ignored and overwritten!\n##############################\n\nFROM quay.io/strimzi/kafka:latest-kafka-3.9.0\n\nUSER root:root\n\n##########\n# Connector plugin file\n##########\nRUN mkdir -p {dir} \\\n      && curl -f -L --output {file} {url} \\\n      && echo \"{sum} {file}\" > {file}.sha512 \\\n      && sha512sum -c {file}.sha512 \\\n      && rm -f {file}.sha512\n\nUSER 1001\n"
    )
    .replace(" \\\n      ", " ")
}

/// Strimzi's `hashStub`: the first 8 hex digits of the SHA-1 of the URL (connect-rs names directories the same).
fn hash_stub(url: &str) -> String {
    let artifact = connect_image::spec::ArtifactSpec {
        kind: connect_image::spec::ArtifactKind::Other,
        url: url.to_string(),
        source: connect_image::spec::Source::Http(url.to_string()),
        sha512sum: None,
        file_name: None,
        insecure: false,
    };
    artifact.hash_stub()
}

/// (sum of blob sizes, sum of uncompressed layer sizes, layers) of the only image of a layout.
fn layout_size(layout: &Path) -> (u64, u64, usize) {
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let blob = |digest: &str| layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().to_string();
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(blob(&manifest_digest)).unwrap()).unwrap();
    let mut compressed = std::fs::metadata(blob(&manifest_digest)).unwrap().len();
    compressed += manifest["config"]["size"].as_u64().unwrap();
    let mut uncompressed = 0;
    let layers = manifest["layers"].as_array().unwrap();
    for layer in layers {
        compressed += layer["size"].as_u64().unwrap();
        let file = std::fs::File::open(blob(layer["digest"].as_str().unwrap())).unwrap();
        let mut decoder = flate2::read::GzDecoder::new(file);
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = decoder.read(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            uncompressed += n as u64;
        }
    }
    (compressed, uncompressed, layers.len())
}

fn best(times: &[Duration]) -> Duration {
    *times.iter().min().unwrap()
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
