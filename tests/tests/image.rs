//! Container images: `connect image build` from a Strimzi-style spec (a local `.so` and a `.tgz` served over HTTP)
//! and from a directory of plugins, read back with skopeo and umoci, then run: the image's own `connect` (through
//! `chroot` into the unpacked root file system, as user 1001, with the image's libraries) lists the plugins and
//! runs their connectors against a tansu broker. Bad specs fail with the problem named and leave nothing behind.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use connect_tests::cluster::group_settings;
use connect_tests::image::*;
use connect_tests::*;
use serde_json::{json, Value};

fn sha512(path: &Path) -> String {
    connect_image::fetch::sha512_of(path).expect("sha512")
}

/// Runs `connect image build args...`; returns (exit code, output).
fn build(dir: &Path, args: &[&str]) -> (i32, String) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let log = dir.join(format!("build-{}.log", N.fetch_add(1, Ordering::Relaxed)));
    let args: Vec<&str> = ["image", "build"].iter().copied().chain(args.iter().copied()).collect();
    let mut process = ConnectProcess::start(&args, &log);
    let status = process.wait_exit(Duration::from_secs(180));
    (status.code().unwrap_or(-1), process.output())
}

/// The manifest digest `connect image build` printed.
fn digest_of(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix("image ").and_then(|rest| rest.split_whitespace().next()))
        .unwrap_or_else(|| panic!("no image digest in:\n{output}"))
        .to_string()
}

fn skopeo_json(args: &[&str]) -> Value {
    serde_json::from_str(&run_ok("skopeo", args)).expect("skopeo prints JSON")
}

/// The files under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `connect plugins list --json` of the image's `connect` on the image's plugin directory.
fn image_plugins(rootfs: &Path, env: &[(String, String)], log: &Path) -> Vec<Value> {
    let command =
        chroot_connect(rootfs, "1001:0", env, &["plugins", "list", "--json", "--plugin-path", "/opt/connect/plugins"]);
    let mut list = ConnectProcess::start_command(command, log);
    assert!(list.wait_exit(Duration::from_secs(60)).success(), "{}", list.output());
    let output = list.output();
    let start = output.find('[').unwrap_or_else(|| panic!("no JSON list in:\n{output}"));
    let end = output.rfind(']').expect("a JSON list");
    serde_json::from_str::<Value>(&output[start..=end]).expect("JSON").as_array().cloned().unwrap_or_default()
}

/// The config digest (image id) of the only image of an OCI archive, without `sha256:`.
fn inspect_config_digest(archive: &Path) -> String {
    let raw: Value =
        serde_json::from_str(&run_ok("skopeo", &["inspect", "--raw", &format!("oci-archive:{}", archive.display())]))
            .expect("manifest JSON");
    raw["config"]["digest"].as_str().expect("config digest").trim_start_matches("sha256:").to_string()
}

/// The worker settings of a test group as `CONNECT_*` variables, plus the broker and a REST listener.
fn worker_env(image_env: &[(String, String)], broker: &Broker, port: u16, group: &str) -> Vec<(String, String)> {
    let mut env = image_env.to_vec();
    for (key, value) in group_settings(group) {
        env.push((format!("CONNECT_{}", key.to_uppercase().replace('.', "_")), value));
    }
    env.push(("CONNECT_BOOTSTRAP_SERVERS".into(), broker.bootstrap()));
    env.push(("CONNECT_LISTENERS".into(), format!("http://127.0.0.1:{port}")));
    env.push(("CONNECT_KEY_CONVERTER".into(), "org.apache.kafka.connect.storage.StringConverter".into()));
    env.push(("CONNECT_VALUE_CONVERTER".into(), "org.apache.kafka.connect.storage.StringConverter".into()));
    env
}

#[test]
fn a_spec_build_is_read_by_skopeo_and_umoci_runs_its_connectors_and_builds_again_to_the_same_digest() {
    ensure_image_tools();
    let dir = test_dir();
    let root = dir.path();
    let file_so = tools::library("connect_file");
    let generator_so = tools::library("test_plugin_generator");
    let served = root.join("served");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::write(root.join("NOTICE"), "generator plugin\n").unwrap();
    tgz(
        &served.join("generator.tgz"),
        &[
            ("generator-1.0/lib/libtest_plugin_generator.so", &generator_so),
            ("generator-1.0/NOTICE", &root.join("NOTICE")),
        ],
    );
    let server = FileServer::start(&served);
    let spec = root.join("build.yaml");
    std::fs::write(
        &spec,
        format!(
            "# Strimzi's spec.build\noutput:\n  type: oci\n  path: out\n  image: connect-test:1.0\nplugins:\n  - name: file\n    artifacts:\n      - type: so\n        url: file://{}\n        sha512sum: {}\n  - name: generator\n    artifacts:\n      - type: tgz\n        url: {}\n        sha512sum: {}\n",
            file_so.display(),
            sha512(&file_so),
            server.url("generator.tgz"),
            sha512(&served.join("generator.tgz")),
        ),
    )
    .unwrap();
    let (code, output) = build(root, &[spec.to_str().unwrap()]);
    assert_eq!(code, 0, "{output}");
    let digest = digest_of(&output);
    let layout = root.join("out");

    // skopeo reads the layout: our digest, our labels, the base's two layers plus one per plugin.
    let reference = format!("oci:{}:connect-test:1.0", layout.display());
    let inspect = skopeo_json(&["inspect", &reference]);
    assert_eq!(inspect["Digest"], digest.as_str(), "{inspect}");
    assert_eq!(inspect["Labels"]["io.connect-rs.plugins"], "file,generator", "{inspect}");
    assert_eq!(inspect["Layers"].as_array().map(Vec::len), Some(4), "{inspect}");
    assert_eq!(inspect["Os"], "linux");
    let config = skopeo_json(&["inspect", "--config", &reference]);
    assert_eq!(config["config"]["User"], "1001", "{config}");
    assert_eq!(config["config"]["Entrypoint"], json!(["/usr/bin/connect", "entrypoint"]), "{config}");
    assert!(config["config"]["ExposedPorts"].get("8083/tcp").is_some(), "{config}");

    // umoci unpacks it; plugins sit in Strimzi's <plugin>/<8-hex>/ directories.
    let rootfs = unpack(&layout, "connect-test:1.0", &root.join("bundle"));
    let plugin_files = files_under(&rootfs.join("opt/connect/plugins"));
    assert_eq!(plugin_files.len(), 3, "{plugin_files:?}");
    let hashed = |p: &str, rest: &str| {
        plugin_files.iter().any(|f| {
            let parts: Vec<&str> = f.splitn(3, '/').collect();
            parts.len() == 3
                && parts[0] == p
                && parts[1].len() == 8
                && parts[1].bytes().all(|b| b.is_ascii_hexdigit())
                && parts[2] == rest
        })
    };
    assert!(hashed("file", "libconnect_file.so"), "{plugin_files:?}");
    assert!(hashed("generator", "generator-1.0/lib/libtest_plugin_generator.so"), "{plugin_files:?}");
    assert!(hashed("generator", "generator-1.0/NOTICE"), "{plugin_files:?}");

    // The image's connect, with the image's libraries and user, finds both plugins in the image's directory.
    let image_env = config_env(&config);
    let plugins = image_plugins(&rootfs, &image_env, &root.join("list.log"));
    let location = |class: &str| {
        plugins.iter().find(|p| p["class"] == class).map(|p| p["location"].as_str().unwrap_or("").to_string())
    };
    let file_location =
        location("org.apache.kafka.connect.file.FileStreamSourceConnector").expect("FileStreamSource listed");
    assert!(
        file_location.starts_with("/opt/connect/plugins/file/") && file_location.ends_with("/libconnect_file.so"),
        "{file_location}"
    );
    let generator_location = location("com.connectrs.test.GeneratorSourceConnector").expect("generator listed");
    assert!(generator_location.starts_with("/opt/connect/plugins/generator/"), "{generator_location}");

    // A distributed worker started by the image's entrypoint runs a connector of each plugin.
    let broker = Broker::start();
    broker.create_topic("image-lines", 1);
    broker.create_topic("image-generated", 1);
    let port = broker::free_port();
    let env = worker_env(&image_env, &broker, port, "image-test");
    let command = chroot_connect(&rootfs, "1001:0", &env, &["entrypoint", "distributed"]);
    let mut worker = ConnectProcess::start_command(command, &root.join("worker.log"));
    worker.wait_for_output("joined group", Duration::from_secs(90));
    let rest = Rest::new(port);
    wait_for("the REST API", Duration::from_secs(30), || rest.try_get("/").ok().filter(|(s, _)| *s == 200));
    // The file is read by the worker as user 1001 inside the image.
    std::fs::write(rootfs.join("tmp/input.txt"), "one\ntwo\n").unwrap();
    rest.create_connector(
        "lines",
        json!({"connector.class": "FileStreamSource", "file": "/tmp/input.txt", "topic": "image-lines", "tasks.max": "1"}),
    );
    rest.create_connector(
        "generated",
        json!({"connector.class": "com.connectrs.test.GeneratorSourceConnector", "topic": "image-generated", "records": "5", "value.size": "10", "tasks.max": "1"}),
    );
    let lines: Vec<String> =
        broker.consume("image-lines", 2, Duration::from_secs(60)).iter().map(|r| r.value_str().to_string()).collect();
    assert_eq!(lines, ["one", "two"], "{}", worker.output());
    assert_eq!(broker.consume("image-generated", 5, Duration::from_secs(60)).len(), 5, "{}", worker.output());
    assert!(worker.terminate(Duration::from_secs(30)).success(), "{}", worker.output());
    let written = std::fs::read_to_string(rootfs.join("tmp/connect/worker.properties")).unwrap();
    assert!(written.contains("plugin.path=/opt/connect/plugins"), "{written}");

    // The same inputs give the same image, to the byte.
    let (code, again) =
        build(root, &[spec.to_str().unwrap(), "--output", &format!("oci:{}", root.join("again").display())]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(digest_of(&again), digest);
    assert_eq!(files_under(&root.join("again")), files_under(&layout));
    drop(server);
}

#[test]
fn bad_specs_fail_naming_the_problem_with_exit_1_and_leave_no_output() {
    let dir = test_dir();
    let root = dir.path();
    let so = tools::library("connect_file");
    let actual = sha512(&so);
    let served = root.join("served");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::write(served.join("corrupt.tgz"), b"this is no gzip, let alone a tar").unwrap();
    let server = FileServer::start(&served);
    let closed = broker::free_port();
    let so_url = format!("file://{}", so.display());
    let zeros = "0".repeat(128);
    let good = format!(r#"{{"type": "so", "url": "{so_url}"}}"#);
    let cases: Vec<(&str, String, String)> = vec![
        (
            "checksum",
            format!(r#"{{"type": "so", "url": "{so_url}", "sha512sum": "{zeros}"}}"#),
            format!("plugin \"file\", artifact 1 (so {so_url}): sha512 mismatch: expected {zeros}, got {actual}"),
        ),
        (
            "unreachable",
            format!(r#"{good}, {{"type": "tgz", "url": "http://127.0.0.1:{closed}/x.tgz"}}"#),
            format!("plugin \"file\", artifact 2 (tgz http://127.0.0.1:{closed}/x.tgz): cannot fetch it: "),
        ),
        (
            "not-found",
            format!(r#"{{"type": "zip", "url": "{}"}}"#, server.url("missing.zip")),
            format!(
                "plugin \"file\", artifact 1 (zip {}): cannot fetch it: the server answered 404 Not Found",
                server.url("missing.zip")
            ),
        ),
        (
            "corrupt",
            format!(r#"{{"type": "tgz", "url": "{}"}}"#, server.url("corrupt.tgz")),
            format!("plugin \"file\", artifact 1 (tgz {}): cannot unpack it: ", server.url("corrupt.tgz")),
        ),
        (
            "unknown-type",
            format!(r#"{{"type": "rpm", "url": "{so_url}"}}"#),
            "plugins[0].artifacts[0].type: unknown artifact type \"rpm\"; expected so, tgz, zip or other".to_string(),
        ),
        (
            "missing-field",
            r#"{"type": "so", "sha512sum": null}"#.to_string(),
            "plugins[0].artifacts[0].url: is required".to_string(),
        ),
    ];
    for (name, artifacts, expected) in cases {
        let case = root.join(name);
        std::fs::create_dir_all(&case).unwrap();
        let spec = case.join("build.json");
        std::fs::write(
            &spec,
            format!(r#"{{"output": {{"type": "oci", "path": "out"}}, "plugins": [{{"name": "file", "artifacts": [{artifacts}]}}]}}"#),
        )
        .unwrap();
        let (code, output) = build(root, &[spec.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}: {output}");
        assert!(output.contains(&expected), "{name}: expected {expected:?} in:\n{output}");
        assert!(!output.contains("panicked"), "{name}: {output}");
        let left: Vec<String> =
            std::fs::read_dir(&case).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, ["build.json"], "{name}: partial output left behind");
        if name == "unreachable" {
            // The cause is named too: the refused connection.
            assert!(output.to_lowercase().contains("refused"), "{output}");
        }
    }
    drop(server);
}

#[test]
fn from_dir_builds_a_working_image_and_the_s2i_assemble_script_lays_plugins_out_the_same_way() {
    ensure_image_tools();
    let dir = test_dir();
    let root = dir.path();
    let source = root.join("my-plugins");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::copy(tools::library("connect_file"), source.join("libconnect_file.so")).unwrap();
    std::fs::write(source.join("README.md"), "my plugins\n").unwrap();
    let archive = root.join("image.tar");
    let (code, output) = build(
        root,
        &[
            "--from-dir",
            source.to_str().unwrap(),
            "--output",
            &format!("oci-archive:{}:localhost/connect-file:1", archive.display()),
        ],
    );
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("skipping README.md"), "{output}");
    let inspect = skopeo_json(&["inspect", &format!("oci-archive:{}", archive.display())]);
    assert_eq!(inspect["Digest"], digest_of(&output).as_str(), "{inspect}");
    assert_eq!(inspect["Labels"]["io.connect-rs.plugins"], "connect_file", "{inspect}");
    let config = skopeo_json(&["inspect", "--config", &format!("oci-archive:{}", archive.display())]);

    // podman loads the archive under its name (a private store in the test directory).
    ensure_tool("podman", &["podman"]);
    let store = root.join("podman");
    let (graph, run) = (store.join("root").display().to_string(), store.join("run").display().to_string());
    let podman = ["--root", graph.as_str(), "--runroot", run.as_str(), "--storage-driver", "vfs"];
    let loaded = run_ok("podman", &[&podman[..], &["load", "-i", archive.to_str().unwrap()]].concat());
    assert!(loaded.contains("Loaded image: localhost/connect-file:1"), "{loaded}");
    let images = run_ok("podman", &[&podman[..], &["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]].concat());
    let config_digest = inspect_config_digest(&archive);
    assert!(images.contains(&format!("localhost/connect-file:1 {}", &config_digest[..12])), "{images}");

    // Through skopeo into a layout, then umoci: the image's connect loads the plugin.
    let layout = root.join("layout");
    run_ok(
        "skopeo",
        &["copy", &format!("oci-archive:{}", archive.display()), &format!("oci:{}:copied", layout.display())],
    );
    let rootfs = unpack(&layout, "copied", &root.join("bundle"));
    let image_env = config_env(&config);
    let plugins = image_plugins(&rootfs, &image_env, &root.join("list.log"));
    assert!(
        plugins.iter().any(|p| p["class"] == "org.apache.kafka.connect.file.FileStreamSinkConnector"),
        "{plugins:?}"
    );

    // A standalone worker from the image's entrypoint runs the FileStreamSource of the image.
    let broker = Broker::start();
    broker.create_topic("dir-lines", 1);
    let port = broker::free_port();
    let mut env = worker_env(&image_env, &broker, port, "unused");
    env.retain(|(k, _)| !k.contains("STORAGE") && k != "CONNECT_GROUP_ID");
    std::fs::write(rootfs.join("tmp/input.txt"), "alpha\nbeta\n").unwrap();
    std::fs::write(
        rootfs.join("tmp/source.properties"),
        "name=lines\nconnector.class=FileStreamSource\nfile=/tmp/input.txt\ntopic=dir-lines\n",
    )
    .unwrap();
    let command = chroot_connect(&rootfs, "1001:0", &env, &["entrypoint", "standalone", "/tmp/source.properties"]);
    let mut worker = ConnectProcess::start_command(command, &root.join("standalone.log"));
    let lines: Vec<String> =
        broker.consume("dir-lines", 2, Duration::from_secs(60)).iter().map(|r| r.value_str().to_string()).collect();
    assert_eq!(lines, ["alpha", "beta"], "{}", worker.output());
    assert!(worker.terminate(Duration::from_secs(30)).success(), "{}", worker.output());

    // S2I's assemble script installs the same plugin directory.
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let s2i_plugins = root.join("s2i-plugins");
    let assemble = std::process::Command::new(repo.join("s2i/bin/assemble"))
        .env("S2I_SOURCE_DIR", &source)
        .env("CONNECT_PLUGIN_DIR", &s2i_plugins)
        .env("CONNECT_BIN", tools::connect_binary())
        .output()
        .expect("run s2i/bin/assemble");
    let said = format!("{}{}", String::from_utf8_lossy(&assemble.stdout), String::from_utf8_lossy(&assemble.stderr));
    assert!(assemble.status.success(), "{said}");
    assert!(said.contains("FileStreamSourceConnector"), "assemble lists what it installed: {said}");
    assert_eq!(files_under(&s2i_plugins), files_under(&rootfs.join("opt/connect/plugins")));
}

#[test]
fn images_are_pushed_with_credentials_and_pulled_back_as_a_base() {
    ensure_image_tools();
    let registry = LocalRegistry::start("builder", "s3cret");
    let dir = test_dir();
    let root = dir.path();
    let first = root.join("first");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::copy(tools::library("connect_file"), first.join("libconnect_file.so")).unwrap();
    let target = format!("docker://{}/connect-rs/file:1.0", registry.address());
    let from_dir = first.to_str().unwrap();

    // No credentials, wrong ones: refused before anything is sent.
    let (code, output) = build(root, &["--from-dir", from_dir, "-o", &target]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("the registry needs credentials: give --creds USER:PASSWORD or --authfile FILE"),
        "{output}"
    );
    let (code, output) = build(root, &["--from-dir", from_dir, "-o", &target, "--creds", "builder:wrong"]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("the registry refused the credentials (401 Unauthorized)"), "{output}");

    // A .dockerconfigjson, as Strimzi's pushSecret holds.
    let auth = root.join("auth.json");
    let encoded = run_ok("sh", &["-c", "printf builder:s3cret | base64"]);
    std::fs::write(&auth, format!(r#"{{"auths": {{"{}": {{"auth": "{}"}}}}}}"#, registry.address(), encoded.trim()))
        .unwrap();
    let (code, output) = build(root, &["--from-dir", from_dir, "-o", &target, "--authfile", auth.to_str().unwrap()]);
    assert_eq!(code, 0, "{output}\n{}", registry.log());
    let pushed = digest_of(&output);
    let reference = format!("docker://{}/connect-rs/file:1.0", registry.address());
    let inspect = skopeo_json(&["inspect", "--tls-verify=false", "--creds", "builder:s3cret", &reference]);
    assert_eq!(inspect["Digest"], pushed.as_str(), "{inspect}");

    // The pushed image as the base of another build: its layers kept, one more plugin on top.
    let second = root.join("second");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::copy(tools::library("test_plugin_generator"), second.join("libtest_plugin_generator.so")).unwrap();
    let layout = root.join("layout");
    let (code, output) = build(
        root,
        &[
            "--from-dir",
            second.to_str().unwrap(),
            "--base",
            &format!("{}/connect-rs/file:1.0", registry.address()),
            "--creds",
            "builder:s3cret",
            "-o",
            &format!("oci:{}", layout.display()),
        ],
    );
    assert_eq!(code, 0, "{output}");
    let layered = skopeo_json(&["inspect", &format!("oci:{}", layout.display())]);
    let base_layers = inspect["Layers"].as_array().unwrap();
    let layers = layered["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), base_layers.len() + 1, "{layered}");
    assert_eq!(&layers[..base_layers.len()], &base_layers[..]);
    assert_eq!(layered["Labels"]["io.connect-rs.plugins"], "connect_file,test_plugin_generator", "{layered}");
    let raw: Value =
        serde_json::from_str(&run_ok("skopeo", &["inspect", "--raw", &format!("oci:{}", layout.display())])).unwrap();
    assert_eq!(raw["annotations"]["org.opencontainers.image.base.digest"], pushed.as_str(), "{raw}");
}
